/* monitor.h - windowed drift monitoring of one model version against its
 * baseline: per-feature window accumulators, the score distribution, a change
 * detector on the score stream, the delayed-label join with rolling
 * performance, and thresholds turning every metric into OK/WARN/ALERT.
 *
 * The caller (services/drift) decides when a window closes (every N events
 * and/or T seconds) and calls ss_drift_monitor_evaluate, which computes the
 * report and starts the next window. Memory is fixed at creation: per feature
 * a histogram on the baseline's bins plus a reservoir of `reservoir` values
 * (or one counter per baseline category + "other"); the join holds at most
 * `join_max` waiting entries; performance uses the last `perf_window` pairs. */
#ifndef SS_DRIFT_MONITOR_H
#define SS_DRIFT_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "drift/baseline.h"
#include "drift/detector.h"

typedef enum { SS_DRIFT_OK = 0, SS_DRIFT_WARN = 1, SS_DRIFT_ALERT = 2 } ss_drift_status;

typedef enum {
    SS_DM_PSI = 0,
    SS_DM_KS,
    SS_DM_KS_PVALUE,
    SS_DM_WASSERSTEIN, /* normalised by the baseline's std */
    SS_DM_CHI2,
    SS_DM_CHI2_PVALUE,
    SS_DM_JS,           /* Jensen-Shannon distance, base 2, in [0, 1] */
    SS_DM_NULL_RATE,    /* thresholds apply to the increase over the baseline's null rate */
    SS_DM_OUT_OF_RANGE, /* numeric: outside [min, max]; categorical: unknown category */
    SS_DM_CHANGE,       /* change detections on the score stream in the window */
    SS_DM_PRECISION,    /* at the review threshold (score >= review is flagged) */
    SS_DM_RECALL,
    SS_DM_PRECISION_DECLINE, /* at the decline threshold */
    SS_DM_RECALL_DECLINE,
    SS_DM_AUC,
    SS_DM_LABEL_DELAY, /* mean label time - event time of labels joined in the window, ms */
    SS_DM_LABELS,      /* joined pairs the performance metrics use */
    SS_DM_STATUS,      /* worst status of a feature (value 0/1/2) */
    SS_DM_COUNT
} ss_drift_metric;

const char *ss_drift_metric_name(ss_drift_metric m); /* "psi", "ks_pvalue", ... */
int ss_drift_metric_parse(const char *name);         /* -1 if unknown */
const char *ss_drift_status_name(ss_drift_status s); /* "OK", "WARN", "ALERT" */

typedef struct ss_drift_threshold {
    int set;            /* 0 = metric reported without a status */
    int lower_is_worse; /* p-values, AUC, precision, recall */
    double warn, alert;
} ss_drift_threshold;

typedef enum {
    SS_DRIFT_DETECTOR_NONE = 0,
    SS_DRIFT_DETECTOR_ADWIN,
    SS_DRIFT_DETECTOR_PAGE_HINKLEY
} ss_drift_detector_kind;

typedef struct ss_drift_config {
    size_t reservoir;   /* sample per feature per window for KS / Wasserstein (1000) */
    size_t min_samples; /* fewer non-null values: distribution metrics skipped (100) */
    double psi_eps;     /* SS_DRIFT_PSI_EPS */
    uint64_t seed;      /* reservoir sampling */
    ss_drift_threshold thresholds[SS_DM_COUNT];
    ss_drift_detector_kind detector;
    ss_drift_adwin adwin; /* parameters (River defaults) */
    ss_drift_ph ph;
    size_t join_max;         /* waiting scores/labels (100000) */
    int64_t join_horizon_ms; /* 7 days */
    size_t perf_window;      /* joined pairs for precision/recall/AUC (10000) */
} ss_drift_config;

/** Defaults: PSI warn 0.1 / alert 0.2; Wasserstein 0.1 / 0.2; Jensen-Shannon
 * 0.1 / 0.2; KS and chi-squared p-value 1e-3 / 1e-6 (lower is worse);
 * null-rate increase 0.05 / 0.1; out-of-range rate 0.01 / 0.05; any change
 * detection ALERT; Page-Hinkley with River's defaults (mode both). */
void ss_drift_config_defaults(ss_drift_config *c);
/** Set a metric's thresholds from "warn,alert" (or "alert"); "" or "off"
 * clears them. Returns -1 with err on a bad spec. */
int ss_drift_threshold_parse(ss_drift_config *c, ss_drift_metric m, const char *spec, char *err,
                             size_t errlen);
/** Status of a value under a threshold (OK when not set or value is NAN). */
ss_drift_status ss_drift_threshold_status(const ss_drift_threshold *t, double value);

typedef struct ss_drift_result {
    const char *feature; /* feature name, "__score__", "__performance__" or "__overall__" */
    ss_drift_metric metric;
    double value;
    int has_threshold;
    double threshold; /* the alert threshold applied */
    ss_drift_status status;
    int became_alert; /* ALERT now, not ALERT in the previous window */
} ss_drift_result;

typedef struct ss_drift_report {
    int64_t window_start_ms, window_end_ms, computed_at_ms;
    uint64_t window_events; /* feature vectors */
    uint64_t window_scores;
    const char *model_name, *model_version;
    ss_drift_status overall;
    size_t n;
    ss_drift_result *results;
} ss_drift_report;

typedef struct ss_drift_monitor ss_drift_monitor;

/** Takes ownership of the baseline. The config is copied. */
ss_drift_monitor *ss_drift_monitor_new(ss_drift_baseline *baseline, const ss_drift_config *cfg);
void ss_drift_monitor_free(ss_drift_monitor *m);
const ss_drift_baseline *ss_drift_monitor_baseline(const ss_drift_monitor *m);

/** Index of a monitored feature by name (hash lookup), or -1. */
int ss_drift_monitor_feature(const ss_drift_monitor *m, const char *name, size_t len);
/** One feature vector: begin, then values, then end; monitored features the
 * event did not carry count as null. */
void ss_drift_monitor_begin_event(ss_drift_monitor *m);
void ss_drift_monitor_numeric(ss_drift_monitor *m, int feature, double value); /* NAN = null */
void ss_drift_monitor_category(ss_drift_monitor *m, int feature, const char *value,
                               size_t len); /* NULL = null */
void ss_drift_monitor_end_event(ss_drift_monitor *m);

/** One PRIMARY score of this model version: score distribution, change
 * detector, and the label join. Returns 1 if it joined a waiting label. */
int ss_drift_monitor_score(ss_drift_monitor *m, const char *event_id, size_t id_len, double score,
                           int64_t now_ms);
/** One label. Returns 1 if it joined a waiting score. */
int ss_drift_monitor_label(ss_drift_monitor *m, const char *event_id, size_t id_len, int label,
                           int64_t event_time_ms, int64_t label_time_ms, int64_t now_ms);

uint64_t ss_drift_monitor_window_events(const ss_drift_monitor *m);
uint64_t ss_drift_monitor_window_scores(const ss_drift_monitor *m);
uint64_t ss_drift_monitor_window_labels(const ss_drift_monitor *m);
size_t ss_drift_monitor_join_waiting(const ss_drift_monitor *m);

/** Close the window [start, end): compute every metric and status, then reset
 * the window accumulators. The report is owned by the monitor and valid until
 * the next evaluate or free. */
const ss_drift_report *ss_drift_monitor_evaluate(ss_drift_monitor *m, int64_t start_ms,
                                                 int64_t end_ms, int64_t now_ms);
/** The last report, or NULL before the first window. */
const ss_drift_report *ss_drift_monitor_last(const ss_drift_monitor *m);

#endif
