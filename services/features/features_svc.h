/* features_svc.h - the features service: state shared by its stages.
 *   enrich.c  events.raw -> feature vector -> features.enriched + offline store
 *   labels.c  labels -> offline label files
 *   sink.c    offline flush/roll timer; offsets of appended records are
 *             released only after the flush that made them durable
 *   main.c    config, wiring, lifecycle */
#ifndef SS_FEATURES_SVC_H
#define SS_FEATURES_SVC_H

#include <stdint.h>
#include <event2/event.h>
#include "common/avro.h"
#include "common/http.h"
#include "common/kafka.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "features/features.h"
#include "offline.h"

typedef struct svc_config {
    char *brokers;
    char *redis_url;
    char *redis_prefix;
    char *schema_dir;
    char *event_schema;
    char *registry_url;
    char *http_bind;
    int64_t http_port;
    char *topic_raw;
    char *topic_features;
    char *topic_labels;
    char *topic_dlq;
    char *group_id;
    char *features_file;
    char *offline_dir;
    int64_t offline_flush_ms;
    int64_t offline_idle_ms;
    int64_t dedup_ttl_ms;
    int64_t seen_ttl_ms;
    int write_online;
    int64_t online_ttl_ms;
    int64_t max_inflight;
    int64_t batch_max;
    int64_t drain_timeout_ms;
} svc_config;

typedef struct svc_metrics {
    ss_metric *events_ok, *events_late, *events_duplicate, *events_dlq, *script_errors;
    ss_metric *vectors_produced, *labels, *offline_errors;
    ss_metric *offline_records_features, *offline_records_labels;
    ss_metric *offline_open_features, *offline_open_labels;
    ss_metric *update_seconds, *redis_pending;
} svc_metrics;

typedef struct svc {
    svc_config cfg;
    struct event_base *base;
    ss_feature_defs *defs;
    ss_redis *redis;
    ss_features *features;
    ss_avro_registry *registry;
    ss_avro_codec *raw_codec, *vector_codec, *label_codec;
    ss_producer *producer;
    ss_consumer *consumer;
    ss_http *http;
    offline_store *offline_features, *offline_labels; /* NULL when OFFLINE_DIR is empty */
    int offline_failed;  /* a write failed: not ready, inputs kept unreleased */
    ss_inflight **holds; /* released by the next successful flush */
    size_t n_holds, cap_holds;
    struct event *flush_timer;
    ss_buf enc;
    svc_metrics m;
    int stopping;
} svc;

/* enrich.c */
void enrich_message(svc *s, const rd_kafka_message_t *m, ss_inflight *in);
/* labels.c */
void labels_message(svc *s, const rd_kafka_message_t *m, ss_inflight *in);
/* shared: send the original message to the DLQ with a reason, then finish it */
void svc_dead_letter(svc *s, const rd_kafka_message_t *m, ss_inflight *in, const char *reason,
                     const char *field);
/* sink.c */
int sink_start(svc *s, char *err, size_t errlen);
/** Append a record to an offline store; the input's offset waits for the flush. */
void sink_append(svc *s, offline_store *o, int64_t time_ms, avro_value_t *record, ss_inflight *in);
void sink_stop(svc *s); /* final flush, publish every open file */

#endif
