/* http.h - evhttp server helpers: routing with path parameters and methods,
 * JSON and application/problem+json replies, size limits, timeouts, optional
 * TLS, and the ops routes every service has (/metrics, /healthz, /readyz).
 * Every handler path must end in exactly one reply. */
#ifndef SS_COMMON_HTTP_H
#define SS_COMMON_HTTP_H

#include <stddef.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

typedef struct ss_http ss_http;

typedef struct ss_http_opts {
    const char *bind;       /* default "0.0.0.0" */
    int port;               /* 0 = pick a free port (see ss_http_port) */
    size_t max_header_size; /* default 8 KiB -> 431 problem; above 2x evhttp answers 400 itself */
    size_t max_body_size;   /* default 1 MiB -> 413 problem; above 2x evhttp answers 413 itself */
    int timeout_s;          /* default 10: a complete request is due within this of accept or
                               of the previous reply (slow clients dropped); write timeout + 1 */
    int max_connections;    /* 0 = unlimited; above it new connections are closed at once */
    const char *tls_cert;   /* PEM paths; both set = HTTPS only */
    const char *tls_key;
} ss_http_opts;

#define SS_HTTP_MAX_PARAMS 4
typedef struct ss_http_params {
    int n;
    const char *name[SS_HTTP_MAX_PARAMS];
    char value[SS_HTTP_MAX_PARAMS][256]; /* percent-decoded */
} ss_http_params;

const char *ss_http_param(const ss_http_params *p, const char *name); /* NULL if absent */

typedef void (*ss_http_handler)(struct evhttp_request *req, const ss_http_params *params,
                                void *arg);

ss_http *ss_http_new(struct event_base *base, const ss_http_opts *opts, char *err, size_t errlen);
void ss_http_free(ss_http *h);
int ss_http_port(const ss_http *h); /* the bound port */
/** Route `pattern` (e.g. "/v1/features/{entity}/{id}") for the methods in the
 * mask (EVHTTP_REQ_GET | ...). Unknown path -> 404, known path with another
 * method -> 405 with Allow; both as problem+json. */
int ss_http_route(ss_http *h, int methods, const char *pattern, ss_http_handler fn, void *arg);

/** Readiness check for /readyz: returns 1 when ready; `why` (optional) filled
 * when not. /readyz answers 200 only if every check passes; body names each. */
typedef int (*ss_ready_fn)(void *arg, char *why, size_t whylen);
void ss_http_add_ready_check(ss_http *h, const char *name, ss_ready_fn fn, void *arg);
/** Adds GET /metrics, /healthz, /readyz. */
void ss_http_add_ops_routes(ss_http *h);
/** Stop accepting new connections (shutdown). */
void ss_http_stop_accepting(ss_http *h);
/** Graceful shutdown of the HTTP side: stop accepting; every request already
 * received is answered and its answer written out, with "Connection: close"
 * so that keep-alive clients move on; connections with no request under way
 * are closed. `done(arg)` runs once, on a later loop iteration, when no
 * connection is left or after timeout_ms (then with a warning naming how many
 * requests were still unanswered). Call ss_http_free afterwards as usual. */
void ss_http_drain(ss_http *h, int timeout_ms, void (*done)(void *arg), void *arg);
/** Requests received and not yet completely written out. */
size_t ss_http_busy(const ss_http *h);

/* ---- replies (each sends exactly one reply) */
/** JSON reply; steals the reference to body. */
void ss_http_reply_json(struct evhttp_request *req, int status, json_t *body);
/** RFC 9457 problem: {"type","title","status","detail"} with extra fields from
 * `extra` (stolen, may be NULL). */
void ss_http_reply_problem(struct evhttp_request *req, int status, const char *title,
                           json_t *extra, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ss_http_reply_text(struct evhttp_request *req, int status, const char *ctype,
                        const char *body, size_t len);

/* ---- request helpers */
/** The body as a contiguous NUL-terminated buffer (valid for the request). */
const char *ss_http_body(struct evhttp_request *req, size_t *len);
/** Parse the body as JSON; on failure sends 400/415 problem and returns NULL.
 * Requires Content-Type application/json when `require_ctype`. */
json_t *ss_http_body_json(struct evhttp_request *req, int require_ctype);
/** Same with jansson decoding flags (ss_http_body_json uses
 * JSON_REJECT_DUPLICATES; pass 0 to leave duplicate keys to a later check). */
json_t *ss_http_body_json_flags(struct evhttp_request *req, int require_ctype, size_t flags);
const char *ss_http_header(struct evhttp_request *req, const char *name);

#endif
