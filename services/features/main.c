/* streamscore-features: events.raw -> decode -> feature script (Redis: dedup +
 * tiles + windows, one atomic call per event, pipelined) -> encode ->
 * features.enriched + offline store -> offset stored once Kafka acked and the
 * offline flush made the record durable. Labels -> offline label files. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "common/config.h"
#include "common/log.h"
#include "common/service.h"
#include "features_svc.h"

#define SUMMARY                                                                                    \
    "Feature vectors from events.raw (Redis tiles) to features.enriched and the offline store."

static const ss_config_entry config_table[] = {
    SS_CFG_KAFKA_BROKERS(svc_config, brokers),
    SS_CFG_REDIS_URL(svc_config, redis_url, "feature state, dedup records and online vectors."),
    {"REDIS_PREFIX", SS_CFG_STRING, "ss:", SS_UNBOUNDED, offsetof(svc_config, redis_prefix),
     "prefix of every feature key"},
    {"EVENT_SCHEMA", SS_CFG_STRING, "CardTransaction", SS_UNBOUNDED,
     offsetof(svc_config, event_schema),
     "record schema of events.raw (a schemas/*.avsc name); the definitions are checked against it"},
    SS_CFG_SCHEMAS(svc_config, schema_dir, registry_url),
    SS_CFG_HTTP(svc_config, http_bind, http_port, "8082", "/metrics, /healthz, /readyz"),
    {"TOPIC_RAW", SS_CFG_STRING, "events.raw", SS_UNBOUNDED, offsetof(svc_config, topic_raw),
     "input events"},
    {"TOPIC_FEATURES", SS_CFG_STRING, "features.enriched", SS_UNBOUNDED,
     offsetof(svc_config, topic_features), "output feature vectors"},
    {"TOPIC_LABELS", SS_CFG_STRING, "labels", SS_UNBOUNDED, offsetof(svc_config, topic_labels),
     "labels for the offline store; empty = do not consume"},
    {"TOPIC_DLQ", SS_CFG_STRING, "events.dlq", SS_UNBOUNDED, offsetof(svc_config, topic_dlq),
     "dead letters (undecodable input)"},
    {"GROUP_ID", SS_CFG_STRING, "streamscore-features", SS_UNBOUNDED,
     offsetof(svc_config, group_id), "consumer group"},
    {"FEATURES_FILE", SS_CFG_STRING, "features/card_fraud.json", SS_UNBOUNDED,
     offsetof(svc_config, features_file), "feature definitions (docs/features.md)"},
    {"OFFLINE_DIR", SS_CFG_STRING, "offline", SS_UNBOUNDED, offsetof(svc_config, offline_dir),
     "offline store root; empty = disabled"},
    {"OFFLINE_FLUSH_INTERVAL", SS_CFG_DURATION, "500ms", 10, 60000,
     offsetof(svc_config, offline_flush_ms),
     "flush + fsync period of open offline files (offsets wait for it)"},
    {"OFFLINE_IDLE_CLOSE", SS_CFG_DURATION, "10m", 1000, 86400000,
     offsetof(svc_config, offline_idle_ms),
     "publish an hour's file after this long without records"},
    {"DEDUP_TTL", SS_CFG_DURATION, "1h", 60000, 31536000000.0, offsetof(svc_config, dedup_ttl_ms),
     "how long an event's vector is kept: a redelivery gets the identical vector"},
    {"DEDUP_SEEN_TTL", SS_CFG_DURATION, "7d", 60000, 31536000000.0,
     offsetof(svc_config, seen_ttl_ms),
     "how long applied event ids are remembered: a replay never applies an event twice"},
    {"WRITE_ONLINE", SS_CFG_BOOL, "true", SS_UNBOUNDED, offsetof(svc_config, write_online),
     "write ss:online:<entity>:<id> latest vectors"},
    {"ONLINE_TTL", SS_CFG_DURATION, "0", 0, 31536000000.0, offsetof(svc_config, online_ttl_ms),
     "TTL of online vectors; 0 = longest window + grace"},
    {"MAX_INFLIGHT", SS_CFG_INT, "10000", 1, 1000000, offsetof(svc_config, max_inflight),
     "pause consuming above this many unfinished events"},
    {"BATCH_MAX", SS_CFG_INT, "500", 1, 100000, offsetof(svc_config, batch_max),
     "messages handled per loop wake-up (one Redis pipeline)"},
    {"DRAIN_TIMEOUT", SS_CFG_DURATION, "30s", 0, 600000, offsetof(svc_config, drain_timeout_ms),
     "SIGTERM: time to finish in-flight events"},
    SS_CFG_END,
};

static void on_message(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    svc *s = arg;
    (void)c;
    if (strcmp(rd_kafka_topic_name(m->rkt), s->cfg.topic_raw) == 0)
        enrich_message(s, m, in);
    else
        labels_message(s, m, in);
}

/* Redis down: stop taking input (queued scripts are re-sent on reconnect). */
static void on_redis_state(ss_redis *r, int ready, void *arg)
{
    svc *s = arg;
    (void)r;
    if (!s->consumer) return;
    if (ready) {
        ss_consumer_resume(s->consumer, SS_PAUSE_DEPENDENCY);
        ss_info("redis ready: consuming");
    } else {
        ss_consumer_pause(s->consumer, SS_PAUSE_DEPENDENCY);
        ss_warn("redis unavailable: consumption paused");
    }
}

static int consumer_ready(void *arg, char *why, size_t whylen)
{
    return ss_consumer_ready(arg, why, whylen);
}

static int offline_ready(void *arg, char *why, size_t whylen)
{
    svc *s = arg;
    if (s->offline_failed) {
        ss_strlcpy(why, "offline store writes are failing", whylen);
        return 0;
    }
    return 1;
}

static void init_metrics(svc_metrics *m)
{
    const char *ev = "streamscore_features_events_total";
    const char *evh = "events by outcome";
    m->events_ok = ss_counter(ev, evh, "result=\"ok\"");
    m->events_late = ss_counter(ev, evh, "result=\"late\"");
    m->events_duplicate = ss_counter(ev, evh, "result=\"duplicate\"");
    m->events_dlq = ss_counter(ev, evh, "result=\"dlq\"");
    m->script_errors = ss_counter("streamscore_features_script_errors_total",
                                  "feature script calls answered with an error (retried)", NULL);
    m->vectors_produced = ss_counter("streamscore_features_vectors_produced_total",
                                     "feature vectors sent to features.enriched", NULL);
    m->labels = ss_counter("streamscore_features_labels_total", "labels consumed", NULL);
    m->offline_errors = ss_counter("streamscore_features_offline_errors_total",
                                   "offline store write/flush failures", NULL);
    m->offline_records_features =
        ss_gauge("streamscore_features_offline_records",
                 "records appended to the offline store since start", "kind=\"features\"");
    m->offline_records_labels =
        ss_gauge("streamscore_features_offline_records",
                 "records appended to the offline store since start", "kind=\"labels\"");
    m->offline_open_features = ss_gauge("streamscore_features_offline_open_files",
                                        "offline part files open", "kind=\"features\"");
    m->offline_open_labels = ss_gauge("streamscore_features_offline_open_files",
                                      "offline part files open", "kind=\"labels\"");
    m->update_seconds = ss_histogram("streamscore_features_update_seconds",
                                     "feature script latency per event", NULL, NULL, 0);
    m->redis_pending = ss_gauge("streamscore_features_redis_pending",
                                "Redis commands sent or queued, not answered", NULL);
}

static int open_offline(svc *s, char *err, size_t errlen)
{
    const char *kinds[2] = {"features", "labels"};
    avro_schema_t schemas[2] = {ss_avro_codec_schema(s->vector_codec),
                                ss_avro_codec_schema(s->label_codec)};
    offline_store **stores[2] = {&s->offline_features, &s->offline_labels};
    if (!s->cfg.offline_dir[0]) return 0;
    for (int i = 0; i < 2; i++) {
        offline_opts o = {.dir = s->cfg.offline_dir,
                          .kind = kinds[i],
                          .schema = schemas[i],
                          .close_after_ms = ss_feature_defs_grace_ms(s->defs),
                          .idle_close_ms = s->cfg.offline_idle_ms};
        long recovered = offline_recover(&o, err, errlen);
        if (recovered < 0) return -1;
        if (recovered > 0) ss_info("offline store: recovered %ld %s records", recovered, kinds[i]);
        if (!(*stores[i] = offline_new(&o, err, errlen))) return -1;
    }
    return sink_start(s, err, errlen);
}

static int open_codecs(svc *s, char *err, size_t errlen)
{
    char subject[256];
    if (!(s->registry = ss_avro_registry_new(s->cfg.schema_dir, s->cfg.registry_url, err, errlen)))
        return -1;
    ss_avro_registry_set_wait(s->registry, SS_AVRO_LOOP_WAIT_MS);
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_raw);
    if (!(s->raw_codec = ss_avro_codec_new(s->registry, s->cfg.event_schema, subject, err, errlen)))
        return -1;
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_features);
    if (!(s->vector_codec = ss_avro_codec_new(s->registry, "FeatureVector", subject, err, errlen)))
        return -1;
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_labels);
    if (!(s->label_codec = ss_avro_codec_new(s->registry, "Label", subject, err, errlen)))
        return -1;
    return ss_feature_defs_check_schema(s->defs, ss_avro_codec_schema(s->raw_codec), err, errlen);
}

static int open_state(svc *s, char *err, size_t errlen)
{
    ss_features_opts fo = {.prefix = s->cfg.redis_prefix,
                           .dedup_ttl_ms = s->cfg.dedup_ttl_ms,
                           .seen_ttl_ms = s->cfg.seen_ttl_ms,
                           .write_online = s->cfg.write_online,
                           .online_ttl_ms = s->cfg.online_ttl_ms};
    if (!(s->defs = ss_feature_defs_load(s->cfg.features_file, err, errlen))) return -1;
    if (!(s->redis = ss_redis_new(s->base, s->cfg.redis_url, err, errlen))) return -1;
    ss_redis_on_state(s->redis, on_redis_state, s);
    return (s->features = ss_features_new(s->redis, s->defs, &fo, err, errlen)) ? 0 : -1;
}

static int open_kafka(svc *s, char *err, size_t errlen)
{
    const char *topics[2] = {s->cfg.topic_raw, s->cfg.topic_labels};
    ss_kafka_opts ko = {.brokers = s->cfg.brokers,
                        .client_id = "streamscore-features",
                        .group_id = s->cfg.group_id,
                        .max_inflight = (int)s->cfg.max_inflight,
                        .batch_max = (int)s->cfg.batch_max};
    if (!(s->producer = ss_producer_new(s->base, &ko, err, errlen))) return -1;
    s->consumer = ss_consumer_new(s->base, &ko, topics, s->cfg.topic_labels[0] ? 2 : 1, on_message,
                                  NULL, s, err, errlen);
    if (!s->consumer) return -1;
    ss_consumer_link_producer(s->consumer, s->producer);
    if (!ss_redis_ready(s->redis)) ss_consumer_pause(s->consumer, SS_PAUSE_DEPENDENCY);
    return 0;
}

static int open_http(svc *s, char *err, size_t errlen)
{
    ss_http_opts ho = {.bind = s->cfg.http_bind, .port = (int)s->cfg.http_port};
    if (!(s->http = ss_http_new(s->base, &ho, err, errlen))) return -1;
    ss_http_add_ready_check(s->http, "redis", ss_redis_ready_check, s->redis);
    ss_http_add_ready_check(s->http, "kafka", consumer_ready, s->consumer);
    ss_http_add_ready_check(s->http, "offline", offline_ready, s);
    ss_http_add_ops_routes(s->http);
    return 0;
}

static void on_drained(void *arg)
{
    svc *s = arg;
    sink_stop(s); /* publish every open part file */
    event_base_loopexit(s->base, NULL);
}

static void on_stop(void *arg)
{
    svc *s = arg;
    if (s->stopping) return;
    s->stopping = 1;
    ss_info("stopping: draining in-flight events");
    if (s->http) ss_http_stop_accepting(s->http);
    ss_consumer_drain(s->consumer, (int)s->cfg.drain_timeout_ms, on_drained, s);
}

static void svc_free(svc *s)
{
    if (s->offline_features || s->offline_labels) sink_stop(s);
    if (s->consumer) ss_consumer_free(s->consumer);
    if (s->producer) ss_producer_free(s->producer);
    if (s->http) ss_http_free(s->http);
    ss_features_free(s->features);
    if (s->redis) ss_redis_free(s->redis);
    ss_avro_codec_free(s->raw_codec);
    ss_avro_codec_free(s->vector_codec);
    ss_avro_codec_free(s->label_codec);
    ss_avro_registry_free(s->registry);
    ss_feature_defs_free(s->defs);
    ss_buf_free(&s->enc);
    ss_service_signals_free();
    if (s->base) event_base_free(s->base);
    ss_config_free(config_table, &s->cfg);
}

int main(int argc, char **argv)
{
    svc s;
    char err[1024];
    int rc = 1;
    memset(&s, 0, sizeof s);
    ss_log_init("features");
    ss_config_main(argc, argv, "streamscore-features", SUMMARY, config_table, &s.cfg);
    ss_buf_init(&s.enc);
    init_metrics(&s.m);
    s.base = event_base_new();
    if (open_state(&s, err, sizeof err) < 0 || open_codecs(&s, err, sizeof err) < 0 ||
        open_offline(&s, err, sizeof err) < 0 || open_kafka(&s, err, sizeof err) < 0 ||
        open_http(&s, err, sizeof err) < 0) {
        ss_log(SS_LOG_ERROR, "start-up failed", "error", err, NULL);
        goto done;
    }
    ss_service_signals(s.base, on_stop, &s);
    ss_log(SS_LOG_INFO, "features service started", "definitions", ss_feature_defs_version(s.defs),
           "input", s.cfg.topic_raw, "output", s.cfg.topic_features, NULL);
    event_base_dispatch(s.base);
    rc = 0;
done:
    svc_free(&s);
    return rc;
}
