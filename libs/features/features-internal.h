/* features-internal.h - the definitions model, the script generator and the
 * call/reply codec shared by features.c, the tests and the benchmark. */
#ifndef SS_FEATURES_INTERNAL_H
#define SS_FEATURES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "common/util.h"
#include "features/features.h"

typedef enum {
    FD_COUNT,
    FD_SUM,
    FD_MEAN,
    FD_MIN,
    FD_MAX,
    FD_STDDEV,
    FD_LAST,
    FD_DISTINCT,
    FD_SINCE,
    FD_RATIO,
} fd_agg;

typedef enum {
    FD_OP_EQ,      /* "equals": value */
    FD_OP_NE,      /* "not_equals": value */
    FD_OP_IN,      /* "in": [values] */
    FD_OP_NOT_IN,  /* "not_in": [values] */
    FD_OP_GT,      /* "gt": number */
    FD_OP_GTE,     /* "gte": number */
    FD_OP_LT,      /* "lt": number */
    FD_OP_LTE,     /* "lte": number */
    FD_OP_NULL,    /* "is_null": true */
    FD_OP_NOTNULL, /* "is_null": false */
} fd_op;

typedef struct fd_entity {
    char *name;
    char *field;
    int primary;
} fd_entity;

/* A filter compares one event field with constants. Strings compare with
 * strings (enum symbols are strings), numbers with numbers. */
typedef struct fd_filter {
    char *name;
    char *field;
    fd_op op;
    int numeric; /* constants are numbers */
    size_t nvals;
    char **svals; /* string constants */
    double *nvals_d;
} fd_filter;

typedef struct fd_feature {
    char *name;
    int entity; /* index into entities */
    fd_agg agg;
    fd_agg of;   /* ratio: the window aggregate divided by (mean/sum/min/max) */
    char *field; /* source field or NULL (count, time_since_last) */
    int filter;  /* index into filters, -1 = all events */
    int64_t window_ms;
    int64_t tile_ms;
    int include_current; /* window aggregates include the event itself */
    char *group_by;      /* bucket field: the window covers events with the same value, or NULL */
    int group;           /* string input of group_by, -1 */
    int input;  /* numeric input (FD_SUM..., FD_LAST, FD_RATIO) or string input (FD_DISTINCT); -1 */
    int stream; /* tiles stream (numeric aggs, ratio) or HLL stream (distinct); -1 */
} fd_feature;

/* A stream: one tiled aggregate state per entity id, shared by the features
 * with the same entity, source field, filter and tile size. */
typedef struct fd_stream {
    int entity;
    int input; /* numeric input, -1 = count only (no field) */
    int filter;
    int group; /* string input whose value buckets the stream, -1 = none */
    int64_t tile_ms;
    int64_t max_tiles; /* largest window / tile among its features */
    int64_t ttl_ms;
    char *key_part; /* "<field|*>:<filter|*>:<tile>[:by=<group field>]" */
} fd_stream;

struct ss_feature_defs {
    char *origin;
    char *version;
    char *event_id_field;
    char *event_time_field;
    int64_t grace_ms;
    int64_t max_window_ms;
    size_t n_entities;
    fd_entity *entities;
    char **entity_names; /* borrowed from entities, for vectors */
    int primary;
    size_t n_categories;
    char **categories;
    size_t n_filters;
    fd_filter *filters;
    size_t n_features;
    fd_feature *features;
    char **names;        /* feature names in order */
    size_t n_num_inputs; /* numeric source fields */
    char **num_inputs;
    size_t n_str_inputs; /* string source fields (distinct_count) */
    char **str_inputs;
    size_t n_streams;
    fd_stream *streams;
    size_t n_hll;
    fd_stream *hll;
    char *lua;
    char tag[13]; /* first 12 hex digits of the script's SHA-1: names
                     the vectors it computed (dedup keys) */
};

/** Generate the script for d (called by the parser once d is valid). */
char *fd_lua_generate(const ss_feature_defs *d);

/* ---- one script call, built from an event */
typedef struct fd_call {
    int peek;
    ss_buf strings; /* all argument bytes, NUL-separated */
    size_t argc, cap;
    size_t *off; /* argument offsets into strings */
    size_t *len;
    const char **argv; /* views, filled by fd_call_argv */
    /* identity of the event, for the vector */
    char *event_id;
    int64_t event_time_ms;
    char **entity_ids;      /* n_entities, NULL = absent */
    char **category_values; /* n_categories, NULL = absent */
    size_t n_entities, n_categories;
} fd_call;

void fd_call_init(fd_call *c);
void fd_call_free(fd_call *c);
/** Build KEYS[1] + ARGV of the script for `event` (argv[0] is the dedup key). */
int fd_call_build(fd_call *c, const ss_feature_defs *d, const ss_features_opts *opts,
                  avro_value_t *event, int peek, int64_t now_ms, char *err, size_t errlen);
/** argv/argvlen views (valid until the next build/free). */
void fd_call_argv(fd_call *c, const char ***argv, const size_t **argvlen);

/* ---- a decoded reply; the vector borrows identity from the call */
typedef struct fd_result {
    double *values;
    ss_feature_vector v;
} fd_result;

/** Values from the script's reply, identity from the call. Returns 0 / -1
 * with err (then nothing to free). */
int fd_result_from_reply(fd_result *res, const ss_feature_defs *d, const fd_call *c,
                         const redisReply *reply, char *err, size_t errlen);
void fd_result_free(fd_result *res);
/** Defaults applied (prefix "ss:", dedup 7 days, online TTL from defs). */
void fd_opts_defaults(ss_features_opts *out, const ss_features_opts *in, const ss_feature_defs *d);

/* argument layout of the script, shared with the generator */
enum {
    FD_ARG_MODE = 1, /* "u" update, "p" peek */
    FD_ARG_EVENT_ID,
    FD_ARG_EVENT_TIME,
    FD_ARG_NOW,
    FD_ARG_PREFIX,
    FD_ARG_DEDUP_TTL,
    FD_ARG_ONLINE, /* "1" write online vectors */
    FD_ARG_ONLINE_TTL,
    FD_ARG_SEEN_TTL,
    FD_ARG_FIXED = FD_ARG_SEEN_TTL,
    /* then: entity ids (n_entities, "" = absent), filter results (n_filters,
     * "1"/"0"), numeric inputs (n_num_inputs, "" = null), string inputs
     * (n_str_inputs, "" = null, else "=" + value) */
};

#endif
