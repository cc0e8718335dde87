/* window.c - closing windows: every DRIFT_WINDOW_EVENTS feature vectors
 * and/or every DRIFT_WINDOW, whichever comes first. Each window's report goes
 * to monitoring.drift (one record per feature x metric, keyed by feature), to
 * the Prometheus gauges, to GET /v1/drift, and new alerts to the log. */
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "common/avro.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"
#include "drift.h"

static void produce_report(drift_svc *s, const ss_drift_report *r)
{
    ss_buf buf;
    ss_buf_init(&buf);
    char err[512];
    for (size_t i = 0; i < r->n; i++) {
        avro_value_t *v = ss_avro_codec_new_value(s->result_codec);
        ss_buf_reset(&buf);
        if (drift_result_to_avro(r, i, v, err, sizeof err) < 0 ||
            ss_avro_encode(s->result_codec, v, &buf, err, sizeof err) < 0) {
            ss_log(SS_LOG_ERROR, "cannot encode drift result", "error", err, NULL);
            continue;
        }
        const char *key = r->results[i].feature;
        ss_send send = {.topic = s->cfg.topic_drift,
                        .partition = RD_KAFKA_PARTITION_UA,
                        .key = key,
                        .keylen = strlen(key),
                        .value = buf.data,
                        .valuelen = buf.len};
        if (ss_producer_send(s->producer, &send) < 0)
            ss_log(SS_LOG_ERROR, "cannot produce drift result", "topic", s->cfg.topic_drift, NULL);
    }
    ss_buf_free(&buf);
    ss_metric_add(
        ss_counter("streamscore_drift_results_total", "DriftResult records produced", NULL),
        (double)r->n);
}

void drift_close_window(drift_svc *s)
{
    if (!s->monitor) return;
    if (ss_drift_monitor_window_events(s->monitor) == 0 &&
        ss_drift_monitor_window_scores(s->monitor) == 0 &&
        ss_drift_monitor_window_labels(s->monitor) == 0) {
        s->window_start_ms =
            ss_now_ms(); /* nothing observed: no record, the next window starts now */
        return;
    }
    int64_t now = ss_now_ms();
    const ss_drift_report *r = ss_drift_monitor_evaluate(s->monitor, s->window_start_ms, now, now);
    s->window_start_ms = now;
    produce_report(s, r);
    drift_report_export(r);
    drift_report_log_alerts(r);
    ss_metric_set(ss_gauge("streamscore_drift_join_waiting",
                           "Scores and labels waiting for their counterpart", NULL),
                  (double)ss_drift_monitor_join_waiting(s->monitor));
    json_decref(s->latest);
    s->latest = drift_report_to_json(r);
    ss_debug("window closed: %llu events, %zu results, status %s",
             (unsigned long long)r->window_events, r->n, ss_drift_status_name(r->overall));
}

void drift_window_tick(drift_svc *s)
{
    if (s->cfg.window_events > 0 && s->monitor &&
        ss_drift_monitor_window_events(s->monitor) >= (uint64_t)s->cfg.window_events)
        drift_close_window(s);
}

static void on_window_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drift_close_window(arg);
}

int drift_window_start_timer(drift_svc *s)
{
    if (s->cfg.window_ms <= 0) return 0;
    s->window_timer = event_new(s->base, -1, EV_PERSIST, on_window_timer, s);
    struct timeval tv = {(time_t)(s->cfg.window_ms / 1000),
                         (suseconds_t)(s->cfg.window_ms % 1000) * 1000};
    return event_add(s->window_timer, &tv);
}
