/* config.c - the drift service's configuration table (env vars) and its
 * translation into libs/drift monitor settings. */
#include <stddef.h>
#include <string.h>

#include "common/util.h"
#include "drift.h"

#define OFF(f) offsetof(drift_config, f)
#define THR(m) offsetof(drift_config, thresholds[m])

const ss_config_entry drift_config_table[] = {
    SS_CFG_KAFKA_BROKERS(drift_config, kafka_brokers),
    SS_CFG_REDIS_URL(drift_config, redis_url, "the model registry pointers (ss:model:<name>:active)."),
    SS_CFG_SCHEMAS(drift_config, schema_dir, schema_registry_url),
    SS_CFG_HTTP(drift_config, http_bind, http_port, "8084", "/metrics, /healthz, /readyz, /v1/drift"),
    {"TOPIC_FEATURES", SS_CFG_STRING, "features.enriched", SS_UNBOUNDED, OFF(topic_features),
     "Feature vectors (FeatureVector)"},
    {"TOPIC_SCORES", SS_CFG_STRING, "scores", SS_UNBOUNDED, OFF(topic_scores),
     "Scores (Score; PRIMARY used)"},
    {"TOPIC_LABELS", SS_CFG_STRING, "labels", SS_UNBOUNDED, OFF(topic_labels),
     "Delayed labels (Label)"},
    {"TOPIC_DRIFT", SS_CFG_STRING, "monitoring.drift", SS_UNBOUNDED, OFF(topic_drift),
     "Output: one DriftResult per feature x metric per window"},
    {"TOPIC_DLQ", SS_CFG_STRING, "events.dlq", SS_UNBOUNDED, OFF(topic_dlq),
     "Undecodable inputs, with reason headers"},
    {"GROUP_ID", SS_CFG_STRING, "streamscore-drift", SS_UNBOUNDED, OFF(group_id), "Consumer group"},
    {"MODEL_STORE", SS_CFG_STRING, "models", SS_UNBOUNDED, OFF(model_store),
     "Bundle directory: MODEL_STORE/<name>/<version>/bundle.json"},
    {"MODEL_NAME", SS_CFG_STRING, "card-fraud", SS_UNBOUNDED, OFF(model_name),
     "Model whose baseline is monitored"},
    {"MODEL_VERSION", SS_CFG_STRING, "", SS_UNBOUNDED, OFF(model_version),
     "Pin a bundle version (tests); empty = follow ss:model:<name>:active in Redis"},
    {"DRIFT_MODEL_POLL", SS_CFG_DURATION, "5s", 100, 3600000, OFF(poll_ms),
     "How often the active version is read from Redis"},
    {"DRIFT_WINDOW_EVENTS", SS_CFG_INT, "10000", 0, 1e12, OFF(window_events),
     "Close a window every N feature vectors (0 = by time only)"},
    {"DRIFT_WINDOW", SS_CFG_DURATION, "60s", 0, 86400000.0 * 30, OFF(window_ms),
     "Close a window every T (0 = by count only); the first limit reached closes it"},
    {"DRIFT_RESERVOIR", SS_CFG_INT, "1000", 10, 10000, OFF(reservoir),
     "Sample per feature per window for KS / Wasserstein (<= 10000 keeps KS exact)"},
    {"DRIFT_MIN_SAMPLES", SS_CFG_INT, "100", 1, 1e9, OFF(min_samples),
     "Fewer non-null values in a window: distribution metrics are skipped"},
    {"DRIFT_DETECTOR", SS_CFG_STRING, "page_hinkley", SS_UNBOUNDED, OFF(detector),
     "Change detector on the score stream: page_hinkley | adwin | none"},
    {"DRIFT_ADWIN_DELTA", SS_CFG_DOUBLE, "0.002", 1e-12, 1, OFF(adwin_delta),
     "ADWIN delta (River default)"},
    {"DRIFT_ADWIN_CLOCK", SS_CFG_INT, "32", 1, 1e6, OFF(adwin_clock),
     "ADWIN clock (River default)"},
    {"DRIFT_ADWIN_MAX_BUCKETS", SS_CFG_INT, "5", 1, 16, OFF(adwin_max_buckets),
     "ADWIN max buckets (River default)"},
    {"DRIFT_ADWIN_MIN_WINDOW", SS_CFG_INT, "5", 1, 1e6, OFF(adwin_min_window),
     "ADWIN min window length (River default)"},
    {"DRIFT_ADWIN_GRACE", SS_CFG_INT, "10", 0, 1e9, OFF(adwin_grace),
     "ADWIN grace period (River default)"},
    {"DRIFT_PH_MIN_INSTANCES", SS_CFG_INT, "30", 1, 1e9, OFF(ph_min_instances),
     "Page-Hinkley min instances (River default)"},
    {"DRIFT_PH_DELTA", SS_CFG_DOUBLE, "0.005", 0, 1e9, OFF(ph_delta),
     "Page-Hinkley delta (River default)"},
    {"DRIFT_PH_THRESHOLD", SS_CFG_DOUBLE, "50", 0, 1e12, OFF(ph_threshold),
     "Page-Hinkley threshold lambda (River default)"},
    {"DRIFT_PH_ALPHA", SS_CFG_DOUBLE, "0.9999", 0, 1, OFF(ph_alpha),
     "Page-Hinkley forgetting factor (River default)"},
    {"DRIFT_PH_MODE", SS_CFG_STRING, "both", SS_UNBOUNDED, OFF(ph_mode),
     "Page-Hinkley direction: up | down | both"},
    {"DRIFT_JOIN_MAX", SS_CFG_INT, "100000", 1, 1e8, OFF(join_max),
     "Scores/labels waiting for their counterpart, at most"},
    {"DRIFT_JOIN_HORIZON", SS_CFG_DURATION, "7d", 1000, 86400000.0 * 90, OFF(join_horizon_ms),
     "A score or label waits at most this long for its counterpart"},
    {"DRIFT_PERF_WINDOW", SS_CFG_INT, "10000", 10, 1e7, OFF(perf_window),
     "Joined (score, label) pairs behind precision, recall and AUC"},
    {"DRIFT_THRESHOLD_PSI", SS_CFG_STRING, "0.1,0.2", SS_UNBOUNDED, THR(SS_DM_PSI),
     "PSI warn,alert"},
    {"DRIFT_THRESHOLD_KS_PVALUE", SS_CFG_STRING, "1e-3,1e-6", SS_UNBOUNDED, THR(SS_DM_KS_PVALUE),
     "KS p-value warn,alert (lower is worse)"},
    {"DRIFT_THRESHOLD_KS", SS_CFG_STRING, "", SS_UNBOUNDED, THR(SS_DM_KS),
     "KS statistic warn,alert (off)"},
    {"DRIFT_THRESHOLD_WASSERSTEIN", SS_CFG_STRING, "0.1,0.2", SS_UNBOUNDED, THR(SS_DM_WASSERSTEIN),
     "Wasserstein-1 / baseline std warn,alert"},
    {"DRIFT_THRESHOLD_CHI2_PVALUE", SS_CFG_STRING, "1e-3,1e-6", SS_UNBOUNDED,
     THR(SS_DM_CHI2_PVALUE), "Chi-squared p-value warn,alert (lower is worse)"},
    {"DRIFT_THRESHOLD_JENSEN_SHANNON", SS_CFG_STRING, "0.1,0.2", SS_UNBOUNDED, THR(SS_DM_JS),
     "Jensen-Shannon distance (base 2) warn,alert"},
    {"DRIFT_THRESHOLD_NULL_RATE", SS_CFG_STRING, "0.05,0.1", SS_UNBOUNDED, THR(SS_DM_NULL_RATE),
     "Null-rate increase over the baseline's, warn,alert"},
    {"DRIFT_THRESHOLD_OUT_OF_RANGE_RATE", SS_CFG_STRING, "0.01,0.05", SS_UNBOUNDED,
     THR(SS_DM_OUT_OF_RANGE), "Share outside the baseline range / unknown categories, warn,alert"},
    {"DRIFT_THRESHOLD_CHANGE_DETECTED", SS_CFG_STRING, "1,1", SS_UNBOUNDED, THR(SS_DM_CHANGE),
     "Change detections per window, warn,alert"},
    {"DRIFT_THRESHOLD_PRECISION", SS_CFG_STRING, "", SS_UNBOUNDED, THR(SS_DM_PRECISION),
     "Precision at the review threshold, warn,alert (lower is worse; off)"},
    {"DRIFT_THRESHOLD_RECALL", SS_CFG_STRING, "", SS_UNBOUNDED, THR(SS_DM_RECALL),
     "Recall at the review threshold, warn,alert (lower is worse; off)"},
    {"DRIFT_THRESHOLD_AUC", SS_CFG_STRING, "", SS_UNBOUNDED, THR(SS_DM_AUC),
     "ROC AUC warn,alert (lower is worse; off)"},
    SS_CFG_END,
};

static int parse_detector(const drift_config *c, ss_drift_config *out, char *err, size_t errlen)
{
    if (!strcmp(c->detector, "adwin"))
        out->detector = SS_DRIFT_DETECTOR_ADWIN;
    else if (!strcmp(c->detector, "page_hinkley"))
        out->detector = SS_DRIFT_DETECTOR_PAGE_HINKLEY;
    else if (!strcmp(c->detector, "none"))
        out->detector = SS_DRIFT_DETECTOR_NONE;
    else
        return ss_err(
            err, errlen,
            "bad config: DRIFT_DETECTOR: expected adwin, page_hinkley or none, got \"%s\"",
            c->detector);
    ss_drift_ph_mode mode;
    if (!strcmp(c->ph_mode, "up"))
        mode = SS_PH_UP;
    else if (!strcmp(c->ph_mode, "down"))
        mode = SS_PH_DOWN;
    else if (!strcmp(c->ph_mode, "both"))
        mode = SS_PH_BOTH;
    else
        return ss_err(err, errlen,
                      "bad config: DRIFT_PH_MODE: expected up, down or both, got \"%s\"",
                      c->ph_mode);
    ss_drift_adwin_init(&out->adwin, c->adwin_delta, (int)c->adwin_clock, (int)c->adwin_max_buckets,
                        (int)c->adwin_min_window, (int)c->adwin_grace);
    ss_drift_ph_init(&out->ph, (uint64_t)c->ph_min_instances, c->ph_delta, c->ph_threshold,
                     c->ph_alpha, mode);
    return 0;
}

int drift_monitor_config(const drift_config *c, ss_drift_config *out, char *err, size_t errlen)
{
    ss_drift_config_defaults(out);
    out->reservoir = (size_t)c->reservoir;
    out->min_samples = (size_t)c->min_samples;
    out->join_max = (size_t)c->join_max;
    out->join_horizon_ms = c->join_horizon_ms;
    out->perf_window = (size_t)c->perf_window;
    if (parse_detector(c, out, err, errlen) < 0) return -1;
    for (int m = 0; m < SS_DM_COUNT; m++) {
        if (!c->thresholds[m]) continue; /* no config entry for this metric: keep the default */
        char why[256], env[64];
        if (ss_drift_threshold_parse(out, (ss_drift_metric)m, c->thresholds[m], why, sizeof why) ==
            0)
            continue;
        size_t i = 0;
        for (const char *p = ss_drift_metric_name((ss_drift_metric)m); *p && i + 1 < sizeof env;
             p++)
            env[i++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        env[i] = '\0';
        return ss_err(err, errlen, "bad config: DRIFT_THRESHOLD_%s: %s", env, why);
    }
    return 0;
}
