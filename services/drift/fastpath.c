/* fastpath.c - allocation-free reading of FeatureVector records for the hot
 * topic. The generic decode (ss_avro_decode into an avro-c value) builds a
 * hash map with a copied key and a union value per feature: at 50 features
 * that is most of the service's CPU. When a record's writer schema is the
 * codec's own schema (same id) and that schema has the field layout below
 * (checked once at start-up), the binary is walked directly and each feature
 * goes straight into the monitor. Anything unexpected returns DRIFT_FAST_NO
 * and the caller takes the generic path, which also produces the error
 * messages for bad records. */
#include <avro.h>
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "drift.h"

typedef struct cursor {
    const uint8_t *p;
    size_t len, pos;
} cursor;

static int read_long(cursor *c, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->pos >= c->len) return -1;
        uint8_t b = c->p[c->pos++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

static int read_bytes(cursor *c, const char **s, size_t *n)
{
    int64_t len;
    if (read_long(c, &len) < 0 || len < 0 || (uint64_t)len > c->len - c->pos) return -1;
    *s = (const char *)c->p + c->pos;
    *n = (size_t)len;
    c->pos += (size_t)len;
    return 0;
}

static int skip_string(cursor *c)
{
    const char *s;
    size_t n;
    return read_bytes(c, &s, &n);
}

/* next block count of a map; negative counts carry a byte size to skip over */
static int block_count(cursor *c, int64_t *count)
{
    if (read_long(c, count) < 0) return -1;
    if (*count < 0) {
        int64_t bytes;
        *count = -*count;
        if (read_long(c, &bytes) < 0) return -1;
    }
    return 0;
}

static int skip_string_map(cursor *c)
{
    int64_t n;
    for (;;) {
        if (block_count(c, &n) < 0) return -1;
        if (n == 0) return 0;
        for (int64_t i = 0; i < n; i++)
            if (skip_string(c) < 0 || skip_string(c) < 0) return -1;
    }
}

static int read_features(cursor *c, ss_drift_monitor *m)
{
    int64_t n, branch;
    for (;;) {
        if (block_count(c, &n) < 0) return -1;
        if (n == 0) return 0;
        for (int64_t i = 0; i < n; i++) {
            const char *name;
            size_t len;
            double v = NAN;
            if (read_bytes(c, &name, &len) < 0 || read_long(c, &branch) < 0) return -1;
            if (branch == 1) {
                if (c->len - c->pos < 8) return -1;
                uint64_t bits = 0;
                for (int b = 7; b >= 0; b--)
                    bits = bits << 8 | c->p[c->pos + (size_t)b];
                memcpy(&v, &bits, sizeof v);
                c->pos += 8;
            } else if (branch != 0) {
                return -1;
            }
            int idx = ss_drift_monitor_feature(m, name, len);
            if (idx >= 0) ss_drift_monitor_numeric(m, idx, v);
        }
    }
}

static int read_categories(cursor *c, ss_drift_monitor *m)
{
    int64_t n;
    for (;;) {
        if (block_count(c, &n) < 0) return -1;
        if (n == 0) return 0;
        for (int64_t i = 0; i < n; i++) {
            const char *name, *value;
            size_t len, vlen;
            if (read_bytes(c, &name, &len) < 0 || read_bytes(c, &value, &vlen) < 0) return -1;
            int idx = ss_drift_monitor_feature(m, name, len);
            if (idx >= 0) ss_drift_monitor_category(m, idx, value, vlen);
        }
    }
}

/* The layout walked below: feature_vector.avsc's fields, in order. */
static const struct {
    const char *name;
    avro_type_t type;
} layout[] = {
    {"event_id", AVRO_STRING},
    {"event_time", AVRO_INT64},
    {"entity_id", AVRO_STRING},
    {"entities", AVRO_MAP},
    {"features", AVRO_MAP},
    {"categories", AVRO_MAP},
    {"definitions_version", AVRO_STRING},
    {"late", AVRO_BOOLEAN},
    {"computed_at", AVRO_INT64},
};
#define LAYOUT_FIELDS (sizeof layout / sizeof layout[0])

int drift_fast_layout_ok(avro_schema_t schema)
{
    if (!is_avro_record(schema) || avro_schema_record_size(schema) != LAYOUT_FIELDS) return 0;
    for (size_t i = 0; i < LAYOUT_FIELDS; i++) {
        const char *name = avro_schema_record_field_name(schema, (int)i);
        avro_schema_t t = avro_schema_record_field_get_by_index(schema, (int)i);
        if (!name || strcmp(name, layout[i].name) || avro_typeof(t) != layout[i].type) return 0;
    }
    avro_schema_t features =
        avro_schema_map_values(avro_schema_record_field_get(schema, "features"));
    avro_schema_t entities =
        avro_schema_map_values(avro_schema_record_field_get(schema, "entities"));
    avro_schema_t categories =
        avro_schema_map_values(avro_schema_record_field_get(schema, "categories"));
    return is_avro_union(features) && avro_schema_union_size(features) == 2 &&
           is_avro_null(avro_schema_union_branch(features, 0)) &&
           is_avro_double(avro_schema_union_branch(features, 1)) && is_avro_string(entities) &&
           is_avro_string(categories);
}

drift_fast_rc drift_fast_features(ss_drift_monitor *m, const void *data, size_t len,
                                  int32_t schema_id)
{
    const uint8_t *p = data;
    if (len < 5 || p[0] != 0) return DRIFT_FAST_NO;
    int32_t id =
        (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
    if (id != schema_id) return DRIFT_FAST_NO;
    /* validate the whole record before touching the monitor */
    cursor c = {p, len, 5};
    int64_t l;
    size_t features_at = 0, categories_at = 0;
    if (skip_string(&c) < 0 || read_long(&c, &l) < 0 || skip_string(&c) < 0 ||
        skip_string_map(&c) < 0)
        return DRIFT_FAST_NO;
    features_at = c.pos;
    { /* skip features */
        int64_t n, branch;
        for (;;) {
            if (block_count(&c, &n) < 0) return DRIFT_FAST_NO;
            if (n == 0) break;
            for (int64_t i = 0; i < n; i++) {
                if (skip_string(&c) < 0 || read_long(&c, &branch) < 0) return DRIFT_FAST_NO;
                if (branch == 1) {
                    if (c.len - c.pos < 8) return DRIFT_FAST_NO;
                    c.pos += 8;
                } else if (branch != 0) {
                    return DRIFT_FAST_NO;
                }
            }
        }
    }
    categories_at = c.pos;
    if (skip_string_map(&c) < 0 || skip_string(&c) < 0 || c.pos >= c.len || c.p[c.pos] > 1)
        return DRIFT_FAST_NO;
    c.pos++; /* late */
    if (read_long(&c, &l) < 0 || c.pos != c.len) return DRIFT_FAST_NO;
    /* fold in */
    ss_drift_monitor_begin_event(m);
    cursor f = {p, len, features_at}, k = {p, len, categories_at};
    int rc = read_features(&f, m) == 0 && read_categories(&k, m) == 0;
    ss_assert(rc); /* validated above */
    ss_drift_monitor_end_event(m);
    return DRIFT_FAST_DONE;
}
