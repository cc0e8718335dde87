/* gateway.h - the HTTP edge of streamscore: shared state and the stages.
 *
 *   request -> auth (key, scope, rate limit) -> route:
 *     POST /v1/events    validate (libs/events) -> produce events.ingest -> 202 after every ack
 *     POST /v1/score     validate -> scorer POST /v1/score (keep-alive pool) -> reply
 *                        -> produce the event into the stream (state updates)
 *     GET  /v1/features  Redis online vector
 *     /v1/models...      proxied to the scorer's registry admin API
 *     GET  /v1/drift     proxied to the drift service
 */
#ifndef SS_GATEWAY_H
#define SS_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/avro.h"
#include "common/config.h"
#include "common/http.h"
#include "common/kafka.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "events/validate.h"

typedef struct gw_config {
    char *http_bind;
    int64_t http_port;
    int64_t max_header_size;
    int64_t max_body_size;
    int64_t http_timeout_ms;
    int64_t max_connections;
    char *tls_cert;
    char *tls_key;

    char *api_keys;      /* inline key table (API_KEYS) */
    char *api_keys_file; /* key table file (API_KEYS_FILE) */
    int auth_disabled;   /* AUTH_DISABLED: dev only */
    double rate_rps;     /* default per-key refill rate */
    double rate_burst;   /* default per-key bucket size */

    char *kafka_brokers;
    char *topic_ingest;
    int64_t delivery_timeout_ms;
    int64_t linger_ms;
    int64_t max_batch;

    char *redis_url;
    int64_t redis_timeout_ms;
    char *online_prefix;

    char *scorer_url;
    int64_t scorer_timeout_ms;
    int64_t scorer_pool;
    char *drift_url;
    int64_t drift_timeout_ms;
    char *model_name;

    char *schema_dir;
    char *schema_registry_url;
    char *event_schema;
    ss_event_rules_config rules;
} gw_config;

extern const ss_config_entry gw_config_table[];

/* ------------------------------------------------------------------ auth */

enum {
    GW_SCOPE_PRODUCE = 1 << 0,
    GW_SCOPE_SCORE = 1 << 1,
    GW_SCOPE_READ = 1 << 2,
    GW_SCOPE_ADMIN = 1 << 3,
};

typedef struct gw_auth gw_auth;
typedef struct gw_key gw_key;

/** Key table text: one key per line (or ';'-separated):
 *   <sha256-hex-of-key> <scope>[,<scope>...] <name> [<rps> [<burst>]]
 * '#' starts a comment. Errors name the line. */
gw_auth *gw_auth_new(const char *inline_table, const char *file, double default_rps,
                     double default_burst, char *err, size_t errlen);
void gw_auth_free(gw_auth *a);
size_t gw_auth_count(const gw_auth *a);
int gw_scopes_parse(const char *s, int *out); /* "produce,score" -> mask; 0 / -1 */

/** The key presented (Authorization: Bearer <key> or X-API-Key), looked up by
 * its SHA-256 in constant time. NULL if absent or unknown. */
gw_key *gw_auth_lookup(gw_auth *a, const char *presented);
const char *gw_key_name(const gw_key *k);
int gw_key_scopes(const gw_key *k);
/** Take one token from the key's bucket: 0 ok, else the whole seconds to
 * wait (>= 1) for the Retry-After header. now_us: monotonic clock. */
int gw_key_take(gw_key *k, int64_t now_us);

/* ------------------------------------------------------------------ upstream */

/** A keep-alive HTTP/1.1 client pool to one upstream (scorer, drift). */
typedef struct gw_upstream gw_upstream;

typedef enum {
    GW_UP_OK = 0,      /* a response arrived (any status) */
    GW_UP_TIMEOUT,     /* no response within the timeout */
    GW_UP_UNAVAILABLE, /* connect refused / connection lost */
} gw_up_result;

typedef struct gw_up_response {
    gw_up_result result;
    int status;
    const char *ctype; /* Content-Type, may be NULL */
    const char *body;  /* NUL-terminated, valid during the callback */
    size_t len;
    double seconds; /* elapsed */
} gw_up_response;

typedef void (*gw_up_cb)(const gw_up_response *r, void *arg);

/** url: http://host:port (a path prefix is allowed). */
gw_upstream *gw_upstream_new(struct event_base *base, const char *name, const char *url, int pool,
                             int64_t timeout_ms, char *err, size_t errlen);
void gw_upstream_free(gw_upstream *u);
/** Send a request; cb runs exactly once (also on failure), never from inside
 * this call. body may be NULL. Returns 0. */
int gw_upstream_request(gw_upstream *u, enum evhttp_cmd_type method, const char *path_and_query,
                        const char *body, size_t len, gw_up_cb cb, void *arg);
size_t gw_upstream_pending(const gw_upstream *u);

/* ------------------------------------------------------------------ gateway */

typedef struct gw {
    gw_config cfg;
    struct event_base *base;
    ss_http *http;
    gw_auth *auth;
    ss_producer *producer;
    ss_redis *redis;
    gw_upstream *scorer;
    gw_upstream *drift;
    ss_avro_registry *registry;
    ss_avro_codec *codec;
    ss_event_rules *rules;
    size_t pending; /* requests waiting for Kafka, Redis or an upstream */
    int stopping;

    ss_metric *m_events_accepted, *m_events_rejected, *m_events_failed;
    ss_metric *m_auth_missing, *m_auth_invalid, *m_auth_forbidden, *m_rate_limited;
} gw;

/** Auth guard for a handler: returns the key when the request may proceed;
 * otherwise it has replied (401, 403, 429) and returns NULL. With
 * AUTH_DISABLED, returns a static "anonymous" key with every scope. */
const gw_key *gw_guard(gw *g, struct evhttp_request *req, int scope);

/* One event checked by the shared validator. */
typedef struct gw_event {
    const char *data; /* the event's JSON bytes as the client sent them */
    size_t len;
    ss_event_error err;
    int valid;
    char event_id[256];
    char key[256];
} gw_event;
int gw_validate(gw *g, gw_event *ev);

/** Split the top-level JSON array in [s, s+len) into its elements' byte
 * ranges (whitespace trimmed). Returns the count (may exceed max: then only
 * max are stored), or -1 if the array is not closed properly (pos set). */
long gw_json_array_split(const char *s, size_t len, const char **items, size_t *lens, size_t max,
                         size_t *pos);

/** Forward the request to an upstream and relay its answer (status, body,
 * Content-Type). Timeouts become 504 and connection failures 503, both
 * problem+json naming `what`. on_2xx (optional) runs before a 2xx is relayed.
 * body is copied; hook_arg (may be NULL) is ss_free'd after the reply. */
typedef void (*gw_proxy_hook)(gw *g, struct evhttp_request *req, const gw_up_response *r,
                              void *hook_arg);
void gw_proxy(gw *g, struct evhttp_request *req, gw_upstream *u, const char *what,
              enum evhttp_cmd_type method, const char *path, const char *body, size_t len,
              gw_proxy_hook on_2xx, void *hook_arg);

void gw_routes_events(gw *g);
void gw_routes_score(gw *g);
void gw_routes_read(gw *g); /* features, models, drift */

#endif
