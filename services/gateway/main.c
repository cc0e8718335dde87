/* main.c - streamscore-gateway: the HTTP edge.
 *
 *   config -> keys -> schema + validation rules -> Kafka producer, Redis,
 *   upstream pools (scorer, drift) -> HTTP server + routes -> loop.
 *   SIGTERM: stop accepting, finish requests in flight (Kafka acks, upstream
 *   answers), flush the producer, exit. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/service.h"
#include "common/util.h"
#include "gateway.h"

#define DRAIN_TIMEOUT_MS 15000

const ss_config_entry gw_config_table[] = {
    SS_CFG_HTTP(gw_config, http_bind, http_port, "8080", "the API, HTTP or HTTPS"),
    {"HTTP_MAX_HEADER_SIZE", SS_CFG_SIZE, "8KiB", 512, 1e6, offsetof(gw_config, max_header_size),
     "Largest request header block; above it 431 (evhttp itself answers 400 above twice this)."},
    {"HTTP_MAX_BODY_SIZE", SS_CFG_SIZE, "1MiB", 1024, 1e9, offsetof(gw_config, max_body_size),
     "Largest request body; above it 413 (evhttp itself answers 413 above twice this)."},
    {"HTTP_TIMEOUT", SS_CFG_DURATION, "10s", 1000, 3600000, offsetof(gw_config, http_timeout_ms),
     "A connection must deliver a complete request within this time of opening or of its previous "
     "reply (whole seconds), or it is closed; also the write timeout."},
    {"HTTP_MAX_CONNECTIONS", SS_CFG_INT, "1024", 0, 1e6, offsetof(gw_config, max_connections),
     "Open connections above this are closed at once; 0 = no cap."},
    {"TLS_CERT", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(gw_config, tls_cert),
     "PEM certificate (chain); with TLS_KEY the gateway speaks HTTPS only."},
    {"TLS_KEY", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(gw_config, tls_key),
     "PEM private key for TLS_CERT."},
    {"API_KEYS", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(gw_config, api_keys),
     "Key table inline, entries separated by ';': \"<sha256-hex> <scopes> <name> [rps [burst]]\"."},
    {"API_KEYS_FILE", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(gw_config, api_keys_file),
     "Key table file, one entry per line (same format; '#' comments)."},
    {"AUTH_DISABLED", SS_CFG_BOOL, "false", SS_UNBOUNDED, offsetof(gw_config, auth_disabled),
     "Development only: no keys needed, every scope granted. Without keys and without this the "
     "gateway refuses to start."},
    {"RATE_LIMIT_RPS", SS_CFG_DOUBLE, "1000", 0.001, 1e9, offsetof(gw_config, rate_rps),
     "Default per-key token refill rate (requests per second)."},
    {"RATE_LIMIT_BURST", SS_CFG_DOUBLE, "2000", 1, 1e9, offsetof(gw_config, rate_burst),
     "Default per-key bucket size (requests allowed in a burst)."},
    SS_CFG_KAFKA_BROKERS(gw_config, kafka_brokers),
    {"TOPIC_INGEST", SS_CFG_STRING, "events.ingest", SS_UNBOUNDED,
     offsetof(gw_config, topic_ingest), "Topic accepted events are produced to."},
    {"EVENTS_DELIVERY_TIMEOUT", SS_CFG_DURATION, "5s", 100, 300000,
     offsetof(gw_config, delivery_timeout_ms),
     "How long Kafka may take to acknowledge an event before POST /v1/events answers 503."},
    {"KAFKA_LINGER", SS_CFG_DURATION, "5ms", 1, 1000, offsetof(gw_config, linger_ms),
     "Producer linger.ms: how long events wait to share a request to Kafka (adds to the "
     "POST /v1/events reply time; longer = fewer wake-ups under load)."},
    {"EVENTS_MAX_BATCH", SS_CFG_INT, "500", 1, 100000, offsetof(gw_config, max_batch),
     "Most events in one POST /v1/events batch (more: 413)."},
    SS_CFG_REDIS_URL(gw_config, redis_url, "the online feature vectors."),
    {"REDIS_TIMEOUT", SS_CFG_DURATION, "1s", 10, 60000, offsetof(gw_config, redis_timeout_ms),
     "Feature reads answer 504 after this."},
    {"REDIS_PREFIX", SS_CFG_STRING, "ss:", SS_UNBOUNDED, offsetof(gw_config, online_prefix),
     "Key prefix of the features service (online vectors: <prefix>online:<entity>:<id>)."},
    {"SCORER_URL", SS_CFG_STRING, "http://127.0.0.1:8083", SS_UNBOUNDED,
     offsetof(gw_config, scorer_url), "The scorer's HTTP endpoint (sync scoring, model registry)."},
    {"SCORER_TIMEOUT", SS_CFG_DURATION, "1s", 10, 60000, offsetof(gw_config, scorer_timeout_ms),
     "Scorer calls answer 504 after this."},
    {"SCORER_POOL", SS_CFG_INT, "8", 1, 1024, offsetof(gw_config, scorer_pool),
     "Keep-alive connections to the scorer."},
    {"DRIFT_URL", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(gw_config, drift_url),
     "The drift service's HTTP endpoint for GET /v1/drift; empty = 503."},
    {"DRIFT_TIMEOUT", SS_CFG_DURATION, "2s", 10, 60000, offsetof(gw_config, drift_timeout_ms),
     "Drift calls answer 504 after this."},
    {"MODEL_NAME", SS_CFG_STRING, "card-fraud", SS_UNBOUNDED, offsetof(gw_config, model_name),
     "Model the admin routes act on (override per call with ?model=)."},
    SS_CFG_SCHEMAS(gw_config, schema_dir, schema_registry_url),
    {"EVENT_SCHEMA", SS_CFG_STRING, "CardTransaction", SS_UNBOUNDED,
     offsetof(gw_config, event_schema), "Canonical event record validated against."},
    SS_EVENT_RULES_CONFIG(gw_config, rules),
    SS_CFG_END,
};

/* ---------------------------------------------------------------- lifecycle */

static int producer_ready(void *arg, char *why, size_t whylen)
{
    return ss_producer_ready(arg, why, whylen);
}

/* Every request received is answered and written out (ss_http_drain), so
 * every event a client was told about is acked; then what the producer still
 * holds (nothing a client is waiting for) is flushed. */
static void on_http_drained(void *arg)
{
    gw *g = arg;
    if (g->pending > 0) ss_warn("gateway: stopping with %zu requests unanswered", g->pending);
    if (ss_producer_flush(g->producer, 10000) != 0)
        ss_warn("gateway: producer flush timed out with %zu messages outstanding",
                ss_producer_outstanding(g->producer));
    event_base_loopexit(g->base, NULL);
}

static void on_stop(void *arg)
{
    gw *g = arg;
    if (g->stopping) return;
    g->stopping = 1;
    ss_info("gateway: stopping: no new connections, finishing %zu requests", g->pending);
    ss_http_drain(g->http, DRAIN_TIMEOUT_MS, on_http_drained, g);
}

static void fail(const char *what, const char *err)
{
    ss_log(SS_LOG_ERROR, what, "error", err, NULL);
    exit(1);
}

static void metrics_init(gw *g)
{
    const char *h = "Events by outcome: accepted (acked by Kafka), rejected (invalid), failed "
                    "(not acked in time).";
    g->m_events_accepted = ss_counter("streamscore_gateway_events_total", h, "result=\"accepted\"");
    g->m_events_rejected = ss_counter("streamscore_gateway_events_total", h, "result=\"rejected\"");
    g->m_events_failed = ss_counter("streamscore_gateway_events_total", h, "result=\"failed\"");
    h = "Requests refused by authentication or authorisation.";
    g->m_auth_missing =
        ss_counter("streamscore_gateway_auth_failures_total", h, "reason=\"missing\"");
    g->m_auth_invalid =
        ss_counter("streamscore_gateway_auth_failures_total", h, "reason=\"invalid\"");
    g->m_auth_forbidden =
        ss_counter("streamscore_gateway_auth_failures_total", h, "reason=\"forbidden\"");
}

int main(int argc, char **argv)
{
    static gw g;
    char err[512] = "";
    ss_config_main(argc, argv, "streamscore-gateway",
                   "HTTP edge: events in, synchronous scores, features, models, drift.",
                   gw_config_table, &g.cfg);
    ss_log_init("gateway");
    metrics_init(&g);

    g.auth = gw_auth_new(g.cfg.api_keys, g.cfg.api_keys_file, g.cfg.rate_rps, g.cfg.rate_burst, err,
                         sizeof(err));
    if (!g.auth) fail("cannot load api keys", err);
    if (gw_auth_count(g.auth) == 0 && !g.cfg.auth_disabled)
        fail("cannot start", "no api keys: set API_KEYS or API_KEYS_FILE (or AUTH_DISABLED=true "
                             "for development)");
    if (g.cfg.auth_disabled) ss_warn("gateway: AUTH_DISABLED: every request has every scope");

    g.registry =
        ss_avro_registry_new(g.cfg.schema_dir, g.cfg.schema_registry_url, err, sizeof(err));
    if (!g.registry) fail("cannot load schemas", err);
    g.codec = ss_avro_codec_new(g.registry, g.cfg.event_schema, NULL, err, sizeof(err));
    if (!g.codec) fail("cannot load the event schema", err);
    g.rules = ss_event_rules_new(&g.cfg.rules, ss_avro_codec_schema(g.codec), err, sizeof(err));
    if (!g.rules) fail("bad event rules", err);

    g.base = event_base_new();
    ss_kafka_opts ko = {.brokers = g.cfg.kafka_brokers,
                        .client_id = "streamscore-gateway",
                        .delivery_timeout_ms = g.cfg.delivery_timeout_ms,
                        .linger_ms = g.cfg.linger_ms};
    g.producer = ss_producer_new(g.base, &ko, err, sizeof(err));
    if (!g.producer) fail("cannot create the kafka producer", err);
    g.redis = ss_redis_new(g.base, g.cfg.redis_url, err, sizeof(err));
    if (!g.redis) fail("cannot create the redis client", err);
    g.scorer = gw_upstream_new(g.base, "scorer", g.cfg.scorer_url, (int)g.cfg.scorer_pool,
                               g.cfg.scorer_timeout_ms, err, sizeof(err));
    if (!g.scorer) fail("bad SCORER_URL", err);
    if (g.cfg.drift_url[0]) {
        g.drift = gw_upstream_new(g.base, "drift", g.cfg.drift_url, 2, g.cfg.drift_timeout_ms, err,
                                  sizeof(err));
        if (!g.drift) fail("bad DRIFT_URL", err);
    }

    ss_http_opts ho = {.bind = g.cfg.http_bind,
                       .port = (int)g.cfg.http_port,
                       .max_header_size = (size_t)g.cfg.max_header_size,
                       .max_body_size = (size_t)g.cfg.max_body_size,
                       .timeout_s = (int)((g.cfg.http_timeout_ms + 999) / 1000),
                       .max_connections = (int)g.cfg.max_connections,
                       .tls_cert = g.cfg.tls_cert,
                       .tls_key = g.cfg.tls_key};
    g.http = ss_http_new(g.base, &ho, err, sizeof(err));
    if (!g.http) fail("cannot start the http server", err);
    gw_routes_events(&g);
    gw_routes_score(&g);
    gw_routes_read(&g);
    ss_http_add_ready_check(g.http, "kafka", producer_ready, g.producer);
    ss_http_add_ready_check(g.http, "redis", ss_redis_ready_check, g.redis);
    ss_http_add_ops_routes(g.http);

    char port[16];
    snprintf(port, sizeof(port), "%d", ss_http_port(g.http));
    ss_log(SS_LOG_INFO, "gateway: listening", "bind", g.cfg.http_bind, "port", port, "tls",
           g.cfg.tls_cert[0] ? "on" : "off", NULL);

    ss_service_signals(g.base, on_stop, &g);
    event_base_dispatch(g.base);

    ss_http_free(g.http);
    ss_service_signals_free();
    gw_upstream_free(g.drift);
    gw_upstream_free(g.scorer);
    ss_redis_free(g.redis);
    ss_producer_free(g.producer);
    event_base_free(g.base);
    ss_event_rules_free(g.rules);
    ss_avro_codec_free(g.codec);
    ss_avro_registry_free(g.registry);
    gw_auth_free(g.auth);
    ss_config_free(gw_config_table, &g.cfg);
    ss_metrics_reset();
    ss_info("gateway: stopped");
    return 0;
}
