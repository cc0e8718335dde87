/* ingest.h - the ingest service: events.ingest (JSON or Confluent Avro) ->
 * validate -> dedup by event id (Redis) -> canonical Avro on events.raw, or
 * the original bytes with reason headers on events.dlq.
 *
 * One pipeline serves both sources: the Kafka consumer (stream) and a file
 * (backfill). An input is finished (its offset may be stored) only when its
 * single output - raw, DLQ or "dropped as duplicate" - is settled.
 */
#ifndef SS_INGEST_H
#define SS_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "common/avro.h"
#include "common/kafka.h"
#include "common/redis.h"
#include "events/validate.h"

typedef struct ingest_config {
    char *brokers;
    char *topic_ingest;
    char *topic_raw;
    char *topic_dlq;
    char *group_id;
    char *redis_url;
    char *schema_dir;
    char *registry_url;
    char *event_schema;
    char *http_bind;
    int64_t http_port;
    int64_t dedup_horizon_ms; /* 0 = dedup off */
    int require_key;
    int64_t linger_ms;
    int64_t max_inflight;
    int64_t shutdown_timeout_ms;
    int64_t backfill_window; /* records in flight during a backfill */
    ss_event_rules_config rules;
} ingest_config;

extern const ss_config_entry ingest_config_table[];

/** Where an input came from and where its outcome is reported. */
typedef struct ingest_input {
    const void *value;
    size_t len;
    const void *key; /* NULL = no key */
    size_t keylen;
    const rd_kafka_headers_t *headers; /* original headers, copied to the DLQ; may be NULL */
    const char *topic;                 /* source: "events.ingest" or "backfill:FILE" */
    int32_t partition;
    int64_t offset;        /* offset, or record number in a backfill */
    ss_inflight *inflight; /* consumed message, or NULL (backfill) */
} ingest_input;

typedef enum {
    INGEST_ACCEPTED,  /* canonical event acknowledged on the raw topic */
    INGEST_REJECTED,  /* original acknowledged on the DLQ */
    INGEST_DUPLICATE, /* dropped: event id seen within the horizon */
    INGEST_FAILED,    /* its output failed permanently (logged, counted) */
} ingest_outcome;

typedef struct ingest ingest;
/** Called once per input when its outcome is settled (output acked). */
typedef void (*ingest_done_cb)(ingest *ig, ingest_outcome outcome, void *arg);

typedef struct ingest_stats {
    uint64_t in, accepted, rejected, duplicates, failed, dedup_errors;
} ingest_stats;

/** Build the pipeline (registry, codec, rules, metrics). producer and redis
 * are borrowed; redis may be NULL when dedup is off. */
ingest *ingest_new(const ingest_config *cfg, struct event_base *base, ss_producer *producer,
                   ss_redis *redis, char *err, size_t errlen);
void ingest_free(ingest *ig);
void ingest_on_done(ingest *ig, ingest_done_cb cb, void *arg);

/** Take one input. Returns 0; the input is copied where needed. With a
 * transient failure (schema registry unreachable) the input is parked and
 * retried in order; ingest_blocked() is then true. */
int ingest_process(ingest *ig, const ingest_input *in);
/** Inputs taken but not yet settled. */
size_t ingest_pending(const ingest *ig);
/** 1 while inputs wait for a dependency (registry); the consumer pauses. */
int ingest_blocked(const ingest *ig);
void ingest_on_blocked(ingest *ig, void (*cb)(ingest *ig, int blocked, void *arg), void *arg);
const ingest_stats *ingest_get_stats(const ingest *ig);
ss_avro_codec *ingest_codec(ingest *ig);

/* ---- dedup (dedup.c) */
typedef enum { DEDUP_NEW, DEDUP_DUPLICATE, DEDUP_ERROR } dedup_answer;
typedef void (*dedup_cb)(dedup_answer answer, void *arg);
/** SET ss:dedup:<event_id> <token> NX GET EX <horizon>: new if unset or if it
 * holds our own token (a retried command or a redelivered input). */
int dedup_check(ss_redis *r, const char *event_id, size_t idlen, const char *token,
                int64_t horizon_ms, dedup_cb cb, void *arg);

/* ---- backfill (backfill.c) */
typedef struct backfill_counts {
    uint64_t records, accepted, rejected, duplicates, failed;
} backfill_counts;
/** Run a backfill of `path` (JSON lines, CSV with a header, or an Avro object
 * container file; detected from content) through ig on base; returns when
 * every record is settled. Progress on stderr, counts in *out. 0 / -1. */
int backfill_run(ingest *ig, struct event_base *base, const char *path, size_t window,
                 backfill_counts *out, char *err, size_t errlen);
/** CSV record -> JSON object text, using the header and the schema's types
 * (exposed for tests). Returns 0 / -1 (malformed). Caller frees *json. */
int backfill_csv_to_json(avro_schema_t schema, char **header, size_t ncols, char **cells,
                         size_t ncells, char **json);
/** Split one CSV record (RFC 4180: quotes, doubled quotes) into cells.
 * Returns the number of cells, -1 on an unterminated quote. Cells point into
 * buf (modified). */
int backfill_csv_split(char *buf, char **cells, size_t maxcells);

#endif
