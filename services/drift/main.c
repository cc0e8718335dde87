/* streamscore-drift - data and model drift monitoring.
 *
 * consume features.enriched, scores, labels -> decode -> window accumulators of
 * the active bundle's baseline -> (window end) evaluate -> encode DriftResult ->
 * produce monitoring.drift + gauges + GET /v1/drift -> done.
 *
 * Inputs are done as soon as they are folded into the in-memory window: the
 * window is an aggregate, so a crash loses at most the open window's
 * statistics (docs/drift.md), never a produced record. Poison inputs go to the
 * DLQ tied to their offset. */
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro.h"
#include "common/config.h"
#include "common/http.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/service.h"
#include "common/util.h"
#include "drift.h"

#define SERVICE "drift"

static ss_metric *m_records[3], *m_bad[3], *m_skipped, *m_joined;
enum { IN_FEATURES = 0, IN_SCORES = 1, IN_LABELS = 2 };

static void init_metrics(void)
{
    const char *topics[3] = {"features", "scores", "labels"};
    char labels[64];
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof labels, "input=\"%s\"", topics[i]);
        m_records[i] = ss_counter("streamscore_drift_records_total",
                                  "Input records folded into windows", labels);
        m_bad[i] = ss_counter("streamscore_drift_bad_records_total",
                              "Undecodable input records sent to the DLQ", labels);
    }
    m_skipped = ss_counter("streamscore_drift_scores_skipped_total",
                           "Scores not monitored (SHADOW role or another model version)", NULL);
    m_joined =
        ss_counter("streamscore_drift_labels_joined_total", "Labels joined to their score", NULL);
}

static void to_dlq(drift_svc *s, const rd_kafka_message_t *m, ss_inflight *in, const char *reason)
{
    ss_send send = {.topic = s->cfg.topic_dlq,
                    .partition = RD_KAFKA_PARTITION_UA,
                    .key = m->key,
                    .keylen = m->key_len,
                    .value = m->payload,
                    .valuelen = m->len,
                    .headers = ss_dlq_headers(reason, NULL, rd_kafka_topic_name(m->rkt),
                                              m->partition, m->offset, SERVICE),
                    .input = in};
    ss_producer_send(s->producer, &send);
}

static int input_of(const drift_svc *s, const char *topic)
{
    if (!strcmp(topic, s->cfg.topic_features)) return IN_FEATURES;
    if (!strcmp(topic, s->cfg.topic_scores)) return IN_SCORES;
    return IN_LABELS;
}

static void on_message(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    drift_svc *s = arg;
    int input = input_of(s, rd_kafka_topic_name(m->rkt));
    ss_avro_codec *codecs[3] = {s->features_codec, s->score_codec, s->label_codec};
    char err[512];
    avro_value_t *v = NULL;
    int joined = 0;
    drift_apply_rc rc = DRIFT_BAD;
    /* decode -> fold into the window (feature vectors: the allocation-free walk when possible) */
    if (input == IN_FEATURES && s->monitor && s->fast_schema_id >= 0 &&
        drift_fast_features(s->monitor, m->payload, m->len, s->fast_schema_id) == DRIFT_FAST_DONE) {
        rc = DRIFT_APPLIED;
    } else if (ss_avro_decode(codecs[input], m->payload, m->len, &v, err, sizeof err) < 0 &&
               ss_avro_codec_errcode(codecs[input]) == SS_AVRO_E_REGISTRY) {
        ss_consumer_defer(c, m, in, err); /* not the record's fault: offered again */
        return;
    } else if (v && s->monitor) {
        int64_t now = ss_now_ms();
        if (input == IN_FEATURES)
            rc = drift_apply_features(s->monitor, v, err, sizeof err);
        else if (input == IN_SCORES)
            rc = drift_apply_score(s->monitor, v, now, &joined, err, sizeof err);
        else
            rc = drift_apply_label(s->monitor, v, now, &joined, err, sizeof err);
    } else if (!s->monitor) {
        snprintf(err, sizeof err,
                 "no baseline loaded"); /* not reached: input is paused until one is */
    }
    if (rc == DRIFT_BAD) {
        ss_metric_inc(m_bad[input]);
        ss_log(SS_LOG_WARN, "bad input record", "topic", rd_kafka_topic_name(m->rkt), "error", err,
               NULL);
        to_dlq(s, m, in, err);
    } else {
        ss_metric_inc(rc == DRIFT_SKIPPED ? m_skipped : m_records[input]);
        if (joined) ss_metric_inc(m_joined);
    }
    /* done: the window holds what this record contributed */
    ss_inflight_done(in);
    if (input == IN_FEATURES) drift_window_tick(s);
}

static void get_drift(struct evhttp_request *req, const ss_http_params *params, void *arg)
{
    (void)params;
    drift_svc *s = arg;
    if (!s->latest) {
        ss_http_reply_problem(req, 404, "No drift report yet", NULL,
                              "no window of model %s has been evaluated yet", s->cfg.model_name);
        return;
    }
    ss_http_reply_json(req, 200, json_incref(s->latest));
}

static int consumer_ready(void *c, char *why, size_t whylen)
{
    return ss_consumer_ready(c, why, whylen);
}

static int producer_ready(void *p, char *why, size_t whylen)
{
    return ss_producer_ready(p, why, whylen);
}

static void on_drained(void *arg)
{
    drift_svc *s = arg;
    event_base_loopexit(s->base, NULL);
}

/* SIGTERM: stop intake, report the open window, flush, commit, exit */
static void on_stop(void *arg)
{
    drift_svc *s = arg;
    s->stopping = 1;
    ss_log(SS_LOG_INFO, "stopping", NULL);
    if (s->http) ss_http_stop_accepting(s->http);
    if (s->window_timer) event_del(s->window_timer);
    if (s->poll_timer) event_del(s->poll_timer);
    drift_close_window(s);
    ss_consumer_drain(s->consumer, 10000, on_drained, s);
}

static int open_codecs(drift_svc *s, char *err, size_t errlen)
{
    char subject[512];
    s->registry = ss_avro_registry_new(s->cfg.schema_dir, s->cfg.schema_registry_url, err, errlen);
    if (!s->registry) return -1;
    ss_avro_registry_set_wait(s->registry, SS_AVRO_LOOP_WAIT_MS);
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_features);
    if (!(s->features_codec =
              ss_avro_codec_new(s->registry, "FeatureVector", subject, err, errlen)))
        return -1;
    s->fast_schema_id = drift_fast_layout_ok(ss_avro_codec_schema(s->features_codec))
                            ? ss_avro_codec_schema_id(s->features_codec)
                            : -1;
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_scores);
    if (!(s->score_codec = ss_avro_codec_new(s->registry, "Score", subject, err, errlen)))
        return -1;
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_labels);
    if (!(s->label_codec = ss_avro_codec_new(s->registry, "Label", subject, err, errlen)))
        return -1;
    snprintf(subject, sizeof subject, "%s-value", s->cfg.topic_drift);
    if (!(s->result_codec = ss_avro_codec_new(s->registry, "DriftResult", subject, err, errlen)))
        return -1;
    return 0;
}

static int open_kafka(drift_svc *s, char *err, size_t errlen)
{
    ss_kafka_opts opts = {.brokers = s->cfg.kafka_brokers,
                          .client_id = "streamscore-drift",
                          .group_id = s->cfg.group_id};
    if (!(s->producer = ss_producer_new(s->base, &opts, err, errlen))) return -1;
    const char *topics[3] = {s->cfg.topic_features, s->cfg.topic_scores, s->cfg.topic_labels};
    s->consumer = ss_consumer_new(s->base, &opts, topics, 3, on_message, NULL, s, err, errlen);
    if (!s->consumer) return -1;
    ss_consumer_link_producer(s->consumer, s->producer);
    ss_consumer_pause(s->consumer, SS_PAUSE_DEPENDENCY); /* until a baseline is loaded */
    return 0;
}

static int open_http(drift_svc *s, char *err, size_t errlen)
{
    ss_http_opts hopts = {.bind = s->cfg.http_bind, .port = (int)s->cfg.http_port};
    if (!(s->http = ss_http_new(s->base, &hopts, err, errlen))) return -1;
    ss_http_route(s->http, EVHTTP_REQ_GET, "/v1/drift", get_drift, s);
    ss_http_add_ready_check(s->http, "kafka_consumer", consumer_ready, s->consumer);
    ss_http_add_ready_check(s->http, "kafka_producer", producer_ready, s->producer);
    ss_http_add_ready_check(s->http, "baseline", drift_model_ready, s);
    if (s->redis) ss_http_add_ready_check(s->http, "redis", ss_redis_ready_check, s->redis);
    ss_http_add_ops_routes(s->http);
    return 0;
}

static void close_all(drift_svc *s)
{
    if (s->window_timer) event_free(s->window_timer);
    if (s->poll_timer) event_free(s->poll_timer);
    if (s->http) ss_http_free(s->http);
    if (s->consumer) ss_consumer_free(s->consumer);
    if (s->producer) ss_producer_free(s->producer);
    if (s->redis) ss_redis_free(s->redis);
    ss_drift_monitor_free(s->monitor);
    ss_free(s->version);
    json_decref(s->latest);
    ss_avro_codec_free(s->features_codec);
    ss_avro_codec_free(s->score_codec);
    ss_avro_codec_free(s->label_codec);
    ss_avro_codec_free(s->result_codec);
    ss_avro_registry_free(s->registry);
    ss_service_signals_free();
    if (s->base) event_base_free(s->base);
    ss_config_free(drift_config_table, &s->cfg);
}

int main(int argc, char **argv)
{
    static drift_svc svc;
    drift_svc *s = &svc;
    char err[1024];
    int rc = 1;
    ss_log_init(SERVICE);
    ss_config_main(argc, argv, "streamscore-drift",
                   "Drift monitoring: features, scores and delayed labels against the active "
                   "bundle's baseline.",
                   drift_config_table, &s->cfg);
    if (drift_monitor_config(&s->cfg, &s->mon_cfg, err, sizeof err) < 0) goto fail;
    init_metrics();
    s->base = event_base_new();
    if (!s->base) {
        snprintf(err, sizeof err, "cannot create the event loop");
        goto fail;
    }
    if (open_codecs(s, err, sizeof err) < 0 || open_kafka(s, err, sizeof err) < 0 ||
        drift_model_start(s, err, sizeof err) < 0 || open_http(s, err, sizeof err) < 0 ||
        drift_window_start_timer(s) < 0)
        goto fail;
    ss_service_signals(s->base, on_stop, s);
    char port[16];
    snprintf(port, sizeof port, "%d", ss_http_port(s->http));
    ss_log(SS_LOG_INFO, "started", "http_port", port, "model", s->cfg.model_name, NULL);
    event_base_dispatch(s->base);
    rc = 0;
    goto done;
fail:
    ss_log(SS_LOG_ERROR, "cannot start", "error", err, NULL);
done:
    close_all(s);
    return rc;
}
