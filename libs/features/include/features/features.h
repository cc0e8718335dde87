/* features.h - one feature library for the stream path (features service) and
 * the request path (synchronous scoring): one definition file, one Lua script,
 * one implementation of the window math, so training and serving agree.
 *
 * Definitions are data (a JSON file, see docs/features.md): entities (event
 * fields used as keys), categorical pass-through fields, named filters and
 * features (count, sum, mean, min, max, stddev, last, distinct_count,
 * time_since_last, ratio) over event-time sliding windows built from tiles.
 *
 * State lives in Redis. Each event is one EVALSHA of a script generated from
 * the definitions: dedup by event id + tile updates + window reads, atomically.
 * Calls issued in one loop iteration are pipelined by ss_redis.
 *
 *   update: applies the event (unless late) and returns its vector. The
 *           vector is stored under the event's dedup key: a replayed event id
 *           gets the SAME vector back (duplicate = 1) and changes no state.
 *           After dedup_ttl the vector is gone but the id is remembered until
 *           seen_ttl: a replay then changes no state either and gets the
 *           vector as of now (duplicate = 1).
 *   peek:   computes the vector the event would get if applied now, writing
 *           nothing. peek then update on the same state give identical vectors.
 * Key layout, semantics and the definition reference: docs/features.md.
 */
#ifndef SS_FEATURES_FEATURES_H
#define SS_FEATURES_FEATURES_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>
#include <jansson.h>
#include "common/redis.h"
#include "common/util.h"

typedef struct ss_feature_defs ss_feature_defs;
typedef struct ss_features ss_features;

/* ------------------------------------------------------------ definitions */

/** Load and validate a definition file. NULL on error with err naming the
 * place and the reason, e.g.
 *   "bad feature definitions: card_fraud.json:21: features[3] (x).window: bad duration \"5x\""
 *   "bad feature definitions: card_fraud.json:12:7: invalid JSON: ..." */
ss_feature_defs *ss_feature_defs_load(const char *path, char *err, size_t errlen);
/** Same from text in memory; `origin` names it in errors. */
ss_feature_defs *ss_feature_defs_parse(const char *text, size_t len, const char *origin, char *err,
                                       size_t errlen);
void ss_feature_defs_free(ss_feature_defs *d);

const char *ss_feature_defs_version(const ss_feature_defs *d); /* "version" of the file */
size_t ss_feature_defs_count(const ss_feature_defs *d);        /* number of features */
/** Ordered feature names (borrowed, count entries). */
const char *const *ss_feature_defs_names(const ss_feature_defs *d);
/** Index of a feature name, -1 if unknown. */
int ss_feature_defs_index(const ss_feature_defs *d, const char *name);
/** Name of the primary entity (the Kafka key), e.g. "card", and its event field. */
const char *ss_feature_defs_primary(const ss_feature_defs *d);
const char *ss_feature_defs_primary_field(const ss_feature_defs *d);
size_t ss_feature_defs_entity_count(const ss_feature_defs *d);
const char *ss_feature_defs_entity_name(const ss_feature_defs *d, size_t i);
int64_t ss_feature_defs_max_window_ms(const ss_feature_defs *d);
int64_t ss_feature_defs_grace_ms(const ss_feature_defs *d);
/** Check the definitions against the event schema (a record): every field
 * they use exists with a usable type (numbers for aggregated fields, strings,
 * enums or numbers for keys, categories and distinct counts). Services call it
 * at start-up so a misspelt field fails loudly instead of yielding nulls.
 * Returns 0 / -1 with err: "feature definitions: field \"amout\" (used by
 * card_amount_sum_1h): not in schema CardTransaction". */
int ss_feature_defs_check_schema(const ss_feature_defs *d, avro_schema_t record, char *err,
                                 size_t errlen);
/** The generated Lua script (borrowed), e.g. for benchmarks. */
const char *ss_feature_defs_lua(const ss_feature_defs *d);

/* ------------------------------------------------------------ vectors */

/** The features of one event. Everything is borrowed and valid only during
 * the callback that receives it (copy what you keep). */
typedef struct ss_feature_vector {
    const char *event_id;
    int64_t event_time_ms;
    const char *entity_id; /* primary entity's id (Kafka key) */
    size_t n_entities;
    const char *const *entity_names; /* "card", "merchant", "device" */
    const char *const *entity_ids;   /* NULL when the event has no value */
    size_t n;                        /* number of features */
    const char *const *names;        /* ordered, from the definitions */
    const double *values;            /* NAN = null (no history, null input) */
    size_t n_categories;
    const char *const *category_names;  /* pass-through categorical fields */
    const char *const *category_values; /* NULL when the event has no value */
    const char *definitions_version;
    int late;               /* after the grace period: scored, tiles not updated */
    int duplicate;          /* event id already applied: its stored vector (or, after
                               dedup_ttl, a read-only one); nothing was applied */
    int64_t computed_at_ms; /* processing time of the computation (the first one for a
                               stored vector) */
} ss_feature_vector;

/** Value of a named feature, NAN when null or unknown. */
double ss_feature_vector_get(const ss_feature_vector *v, const char *name);
/** JSON object {"event_id","event_time","entity_id","entities":{},
 * "features":{name: number|null},"categories":{},"definitions_version",
 * "late","computed_at"}. Caller owns the result. */
json_t *ss_feature_vector_to_json(const ss_feature_vector *v);
/** Fill a value of schemas/feature_vector.avsc (streamscore.FeatureVector).
 * Returns 0 / -1 with err. */
int ss_feature_vector_to_avro(const ss_feature_vector *v, avro_value_t *out, char *err,
                              size_t errlen);

/* ------------------------------------------------------------ state */

typedef struct ss_features_opts {
    const char *prefix;    /* Redis key prefix, default "ss:" */
    int64_t dedup_ttl_ms;  /* how long an event's vector is kept for redelivery; default 1 hour */
    int write_online;      /* update also writes ss:online:<entity>:<id> (latest by event time) */
    int64_t online_ttl_ms; /* TTL of online vectors; 0 = longest window + grace */
    int64_t seen_ttl_ms;   /* how long applied event ids are remembered (state never
                              applied twice); default 7 days. Between dedup_ttl and
                              seen_ttl a replay gets a read-only vector (duplicate = 1). */
} ss_features_opts;

/** Registers the definitions' script with r (r must outlive f). opts may be
 * NULL for defaults. d must outlive f. */
ss_features *ss_features_new(ss_redis *r, const ss_feature_defs *d, const ss_features_opts *opts,
                             char *err, size_t errlen);
/** With calls pending, the object lives on until their replies arrive (their
 * callbacks still run). ss_redis_free drops unanswered calls without
 * callbacks: drain first (ss_redis_pending(r) == 0) to finish every call. */
void ss_features_free(ss_features *f);

/** Result of update/peek: v is NULL on error, then err says why (e.g. a Redis
 * script error). v and err are valid only during the call. */
typedef void (*ss_features_cb)(const ss_feature_vector *v, const char *err, void *arg);

/** Stream path: apply the event (an Avro record with the definitions' fields,
 * e.g. streamscore.CardTransaction) and get its vector. The event is read
 * before returning (it may be reused at once). Returns 0 when issued (cb runs
 * exactly once), -1 for a bad event (missing event id / time / primary
 * entity) with err filled and cb not called. */
int ss_features_update(ss_features *f, avro_value_t *event, ss_features_cb cb, void *arg, char *err,
                       size_t errlen);
/** Request path: the vector this event would get, persisting nothing (distinct
 * counts use a scratch HLL key created and deleted inside the script). An
 * already-applied event id gets its stored vector (duplicate = 1). */
int ss_features_peek(ss_features *f, avro_value_t *event, ss_features_cb cb, void *arg, char *err,
                     size_t errlen);

/** Counters since ss_features_new. */
typedef struct ss_features_stats {
    uint64_t updates, peeks, duplicates, late, errors;
} ss_features_stats;
void ss_features_get_stats(const ss_features *f, ss_features_stats *out);

/** Online vector key of an entity ("<prefix>online:<entity>:<id>"), written by
 * update when write_online and the event is the entity's newest: JSON
 * {"entity","id","event_id","event_time","computed_at","definitions_version",
 *  "features":{that entity's features: number|null}}. Appends to out. */
void ss_features_online_key(const char *prefix, const char *entity, const char *id, ss_buf *out);

#endif
