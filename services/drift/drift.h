/* drift.h - the drift service's stages (private to services/drift).
 *
 * Pipeline: consume features.enriched / scores / labels -> decode (decode.c)
 * -> window accumulators of the active model's monitor (libs/drift) -> at each
 * window end evaluate -> encode DriftResult records (report.c) -> produce to
 * monitoring.drift, export gauges, log new alerts. model.c follows the active
 * bundle version and swaps monitors on promotion. */
#ifndef SS_SVC_DRIFT_H
#define SS_SVC_DRIFT_H

#include <avro.h>
#include <jansson.h>
#include <stdint.h>

#include "common/config.h"
#include "drift/monitor.h"

typedef struct drift_config {
    char *kafka_brokers;
    char *redis_url;
    char *schema_dir;
    char *schema_registry_url;
    int64_t http_port;
    char *http_bind;
    char *topic_features, *topic_scores, *topic_labels, *topic_drift, *topic_dlq;
    char *group_id;
    char *model_store, *model_name, *model_version;
    int64_t poll_ms;       /* active-version poll period */
    int64_t window_events; /* close a window every N feature vectors (0 = off) */
    int64_t window_ms;     /* ... and/or every T (0 = off) */
    int64_t reservoir, min_samples;
    char *detector; /* adwin | page_hinkley | none */
    double adwin_delta;
    int64_t adwin_clock, adwin_max_buckets, adwin_min_window, adwin_grace;
    double ph_delta, ph_threshold, ph_alpha;
    int64_t ph_min_instances;
    char *ph_mode; /* up | down | both */
    int64_t join_max, join_horizon_ms, perf_window;
    char *thresholds[SS_DM_COUNT]; /* DRIFT_THRESHOLD_<METRIC> = "warn,alert" */
} drift_config;

extern const ss_config_entry drift_config_table[];

/** Monitor settings from the service config. Returns -1 with err on a bad
 * threshold or detector name. */
int drift_monitor_config(const drift_config *c, ss_drift_config *out, char *err, size_t errlen);

/* ---- decode.c: Avro records into the monitor */
typedef enum { DRIFT_APPLIED = 0, DRIFT_SKIPPED = 1, DRIFT_BAD = -1 } drift_apply_rc;

/** A FeatureVector: every feature / category the baseline knows. */
drift_apply_rc drift_apply_features(ss_drift_monitor *m, avro_value_t *rec, char *err,
                                    size_t errlen);
/** A Score: PRIMARY records of the monitored model version only (others
 * SKIPPED). *joined set when it joined a waiting label. */
drift_apply_rc drift_apply_score(ss_drift_monitor *m, avro_value_t *rec, int64_t now_ms,
                                 int *joined, char *err, size_t errlen);
/** A Label. */
drift_apply_rc drift_apply_label(ss_drift_monitor *m, avro_value_t *rec, int64_t now_ms,
                                 int *joined, char *err, size_t errlen);

/* ---- fastpath.c: FeatureVector binary straight into the monitor */
typedef enum { DRIFT_FAST_NO = 0, DRIFT_FAST_DONE = 1 } drift_fast_rc;
/** 1 if `schema` has feature_vector.avsc's field layout (the fast path's). */
int drift_fast_layout_ok(avro_schema_t schema);
/** Fold one framed FeatureVector into the monitor without decoding it into an
 * avro-c value, when its schema id is `schema_id` (the codec's own, layout
 * checked). DRIFT_FAST_NO: other schema or anything unexpected; nothing was
 * folded, use the generic decode. */
drift_fast_rc drift_fast_features(ss_drift_monitor *m, const void *data, size_t len,
                                  int32_t schema_id);

/* ---- report.c: one window's report out */
/** Fill a DriftResult value (schema drift_result.avsc) for result i. */
int drift_result_to_avro(const ss_drift_report *r, size_t i, avro_value_t *v, char *err,
                         size_t errlen);
/** The report as JSON for GET /v1/drift (new reference). */
json_t *drift_report_to_json(const ss_drift_report *r);
/** Set the Prometheus gauges for every result of the report. */
void drift_report_export(const ss_drift_report *r);
/** Log each result that turned ALERT in this window, once. Returns how many. */
int drift_report_log_alerts(const ss_drift_report *r);

/* ---- the running service (main.c wires it; window.c and model.c run it) */
struct event_base;
struct event;
typedef struct ss_producer ss_producer;
typedef struct ss_consumer ss_consumer;
typedef struct ss_redis ss_redis;
typedef struct ss_http ss_http;
typedef struct ss_avro_registry ss_avro_registry;
typedef struct ss_avro_codec ss_avro_codec;

typedef struct drift_svc {
    drift_config cfg;
    ss_drift_config mon_cfg;
    struct event_base *base;
    ss_avro_registry *registry;
    ss_avro_codec *features_codec, *score_codec, *label_codec, *result_codec;
    ss_producer *producer;
    ss_consumer *consumer;
    ss_redis *redis; /* NULL when MODEL_VERSION pins the version */
    ss_http *http;
    struct event *window_timer, *poll_timer;
    ss_drift_monitor *monitor; /* NULL until a baseline is loaded */
    char *version;             /* version of the monitor's baseline */
    int64_t window_start_ms;
    json_t *latest; /* last report, served by GET /v1/drift */
    int poll_pending;
    int32_t fast_schema_id; /* FeatureVector fast path, -1 = off */
    int stopping;
} drift_svc;

/* ---- window.c */
/** Evaluate the window so far, produce its records, export and log; starts
 * the next window. No-op without a monitor or without anything observed. */
void drift_close_window(drift_svc *s);
/** After each consumed feature vector: close the window at DRIFT_WINDOW_EVENTS. */
void drift_window_tick(drift_svc *s);
/** Arm the DRIFT_WINDOW timer (if > 0). */
int drift_window_start_timer(drift_svc *s);

/* ---- model.c: following the active bundle version */
/** MODEL_STORE/<name>/<version>/bundle.json into buf. */
void drift_bundle_path(const char *store, const char *name, const char *version, char *buf,
                       size_t buflen);
/** Load `version`'s baseline and make it the monitored one (closing the
 * current window first). Returns 0, or -1 with err (the old monitor stays). */
int drift_use_version(drift_svc *s, const char *version, char *err, size_t errlen);
/** Pinned MODEL_VERSION: load it now; otherwise start polling Redis. */
int drift_model_start(drift_svc *s, char *err, size_t errlen);
int drift_model_ready(void *svc, char *why, size_t whylen); /* ss_ready_fn */

#endif
