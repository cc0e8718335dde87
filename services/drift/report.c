/* report.c - a window's report as DriftResult records, JSON, gauges and
 * alert log lines. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"
#include "drift.h"

#define SET(call, what)                                                                            \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            return ss_err(err, errlen, "cannot encode drift result: %s: %s", what,                 \
                          avro_strerror());                                                        \
    } while (0)

int drift_result_to_avro(const ss_drift_report *r, size_t i, avro_value_t *v, char *err,
                         size_t errlen)
{
    const ss_drift_result *x = &r->results[i];
    avro_value_t f, branch;
    SET(avro_value_get_by_name(v, "window_start", &f, NULL) ||
            avro_value_set_long(&f, r->window_start_ms),
        "window_start");
    SET(avro_value_get_by_name(v, "window_end", &f, NULL) ||
            avro_value_set_long(&f, r->window_end_ms),
        "window_end");
    SET(avro_value_get_by_name(v, "window_events", &f, NULL) ||
            avro_value_set_long(&f, (int64_t)r->window_events),
        "window_events");
    SET(avro_value_get_by_name(v, "model_name", &f, NULL) ||
            avro_value_set_string(&f, r->model_name),
        "model_name");
    SET(avro_value_get_by_name(v, "model_version", &f, NULL) ||
            avro_value_set_string(&f, r->model_version),
        "model_version");
    SET(avro_value_get_by_name(v, "feature", &f, NULL) || avro_value_set_string(&f, x->feature),
        "feature");
    SET(avro_value_get_by_name(v, "metric", &f, NULL) ||
            avro_value_set_string(&f, ss_drift_metric_name(x->metric)),
        "metric");
    SET(avro_value_get_by_name(v, "value", &f, NULL) || avro_value_set_double(&f, x->value),
        "value");
    SET(avro_value_get_by_name(v, "threshold", &f, NULL), "threshold");
    if (x->has_threshold)
        SET(avro_value_set_branch(&f, 1, &branch) || avro_value_set_double(&branch, x->threshold),
            "threshold");
    else
        SET(avro_value_set_branch(&f, 0, &branch) || avro_value_set_null(&branch), "threshold");
    SET(avro_value_get_by_name(v, "status", &f, NULL) || avro_value_set_enum(&f, (int)x->status),
        "status");
    SET(avro_value_get_by_name(v, "computed_at", &f, NULL) ||
            avro_value_set_long(&f, r->computed_at_ms),
        "computed_at");
    return 0;
}

json_t *drift_report_to_json(const ss_drift_report *r)
{
    json_t *results = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const ss_drift_result *x = &r->results[i];
        json_t *o = json_pack("{s:s, s:s, s:f, s:s}", "feature", x->feature, "metric",
                              ss_drift_metric_name(x->metric), "value", x->value, "status",
                              ss_drift_status_name(x->status));
        json_object_set_new(o, "threshold",
                            x->has_threshold ? json_real(x->threshold) : json_null());
        json_array_append_new(results, o);
    }
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "model_name", r->model_name,
                     "model_version", r->model_version, "window_start",
                     (json_int_t)r->window_start_ms, "window_end", (json_int_t)r->window_end_ms,
                     "window_events", (json_int_t)r->window_events, "window_scores",
                     (json_int_t)r->window_scores, "computed_at", (json_int_t)r->computed_at_ms,
                     "status", ss_drift_status_name(r->overall), "results", results);
}

/* Prometheus label values: escape backslash, quote and newline */
static void label_escape(char *dst, size_t dstlen, const char *src)
{
    size_t o = 0;
    for (; *src && o + 2 < dstlen; src++) {
        char c = *src == '\n' ? 'n' : *src;
        if (*src == '\\' || *src == '"' || *src == '\n') dst[o++] = '\\';
        dst[o++] = c;
    }
    dst[o] = '\0';
}

void drift_report_export(const ss_drift_report *r)
{
    char model[256], feature[256], labels[768];
    label_escape(model, sizeof model, r->model_name);
    for (size_t i = 0; i < r->n; i++) {
        const ss_drift_result *x = &r->results[i];
        label_escape(feature, sizeof feature, x->feature);
        snprintf(labels, sizeof labels, "model=\"%s\",feature=\"%s\",metric=\"%s\"", model, feature,
                 ss_drift_metric_name(x->metric));
        ss_metric_set(ss_gauge("streamscore_drift_value",
                               "Drift metric of the last window, per feature and metric", labels),
                      x->value);
        ss_metric_set(ss_gauge("streamscore_drift_status",
                               "Status of the metric in the last window: 0 OK, 1 WARN, 2 ALERT",
                               labels),
                      (double)x->status);
        if (x->has_threshold)
            ss_metric_set(ss_gauge("streamscore_drift_threshold",
                                   "Alert threshold applied to the metric", labels),
                          x->threshold);
    }
    snprintf(labels, sizeof labels, "model=\"%s\"", model);
    ss_metric_set(ss_gauge("streamscore_drift_overall_status",
                           "Worst status over all features and metrics of the last window (0/1/2)",
                           labels),
                  (double)r->overall);
    ss_metric_set(
        ss_gauge("streamscore_drift_window_events", "Feature vectors in the last window", labels),
        (double)r->window_events);
    ss_metric_set(ss_gauge("streamscore_drift_window_end_seconds",
                           "End of the last evaluated window (unix time)", labels),
                  (double)r->window_end_ms / 1000.0);
    ss_metric_inc(ss_counter("streamscore_drift_windows_total", "Windows evaluated", labels));
}

int drift_report_log_alerts(const ss_drift_report *r)
{
    int n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const ss_drift_result *x = &r->results[i];
        if (!x->became_alert || x->metric == SS_DM_STATUS) continue;
        char value[64], threshold[64];
        snprintf(value, sizeof value, "%.6g", x->value);
        snprintf(threshold, sizeof threshold, "%.6g", x->threshold);
        ss_log(SS_LOG_WARN, "drift alert", "feature", x->feature, "metric",
               ss_drift_metric_name(x->metric), "value", value, "threshold", threshold, "model",
               r->model_name, "model_version", r->model_version, NULL);
        n++;
    }
    return n;
}
