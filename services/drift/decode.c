/* decode.c - FeatureVector, Score and Label records into the monitor.
 * Field access by name on decoded avro-c values (reader schemas from schemas/). */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "drift.h"

static int field(avro_value_t *rec, const char *name, avro_value_t *out, char *err, size_t errlen)
{
    if (avro_value_get_by_name(rec, name, out, NULL) != 0)
        return ss_err(err, errlen, "bad record: field \"%s\": missing", name);
    return 0;
}

static int string_field(avro_value_t *rec, const char *name, const char **s, size_t *len, char *err,
                        size_t errlen)
{
    avro_value_t f;
    size_t size = 0;
    if (field(rec, name, &f, err, errlen) < 0) return -1;
    if (avro_value_get_string(&f, s, &size) != 0)
        return ss_err(err, errlen, "bad record: field \"%s\": expected string", name);
    *len = size ? size - 1 : 0; /* avro-c sizes include the NUL */
    return 0;
}

static int long_field(avro_value_t *rec, const char *name, int64_t *out, char *err, size_t errlen)
{
    avro_value_t f;
    if (field(rec, name, &f, err, errlen) < 0) return -1;
    if (avro_value_get_long(&f, out) != 0)
        return ss_err(err, errlen, "bad record: field \"%s\": expected long", name);
    return 0;
}

/* a ["null", "double"] union: NAN for null */
static double nullable_double(avro_value_t *u)
{
    avro_value_t branch;
    double d;
    if (avro_value_get_type(u) == AVRO_UNION) {
        if (avro_value_get_current_branch(u, &branch) != 0) return NAN;
        u = &branch;
    }
    if (avro_value_get_type(u) == AVRO_NULL) return NAN;
    if (avro_value_get_double(u, &d) != 0) return NAN;
    return d;
}

drift_apply_rc drift_apply_features(ss_drift_monitor *m, avro_value_t *rec, char *err,
                                    size_t errlen)
{
    avro_value_t features, categories, elem;
    size_t n = 0;
    if (field(rec, "features", &features, err, errlen) < 0) return DRIFT_BAD;
    if (avro_value_get_size(&features, &n) != 0) {
        ss_err(err, errlen, "bad record: field \"features\": expected map");
        return DRIFT_BAD;
    }
    ss_drift_monitor_begin_event(m);
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        if (avro_value_get_by_index(&features, i, &elem, &name) != 0 || !name) continue;
        int idx = ss_drift_monitor_feature(m, name, strlen(name));
        if (idx >= 0) ss_drift_monitor_numeric(m, idx, nullable_double(&elem));
    }
    if (avro_value_get_by_name(rec, "categories", &categories, NULL) == 0 &&
        avro_value_get_size(&categories, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            const char *name = NULL, *s = NULL;
            size_t size = 0;
            if (avro_value_get_by_index(&categories, i, &elem, &name) != 0 || !name) continue;
            int idx = ss_drift_monitor_feature(m, name, strlen(name));
            if (idx < 0) continue;
            if (avro_value_get_string(&elem, &s, &size) == 0)
                ss_drift_monitor_category(m, idx, s, size ? size - 1 : 0);
        }
    }
    ss_drift_monitor_end_event(m);
    return DRIFT_APPLIED;
}

drift_apply_rc drift_apply_score(ss_drift_monitor *m, avro_value_t *rec, int64_t now_ms,
                                 int *joined, char *err, size_t errlen)
{
    avro_value_t f;
    const char *id, *name, *version;
    size_t id_len, name_len, version_len;
    int role;
    double score;
    *joined = 0;
    if (string_field(rec, "event_id", &id, &id_len, err, errlen) < 0 ||
        string_field(rec, "model_name", &name, &name_len, err, errlen) < 0 ||
        string_field(rec, "model_version", &version, &version_len, err, errlen) < 0 ||
        field(rec, "role", &f, err, errlen) < 0)
        return DRIFT_BAD;
    if (avro_value_get_enum(&f, &role) != 0) {
        ss_err(err, errlen, "bad record: field \"role\": expected enum");
        return DRIFT_BAD;
    }
    if (field(rec, "score", &f, err, errlen) < 0) return DRIFT_BAD;
    if (avro_value_get_double(&f, &score) != 0 || !isfinite(score)) {
        ss_err(err, errlen, "bad record: field \"score\": expected a finite double");
        return DRIFT_BAD;
    }
    const ss_drift_baseline *b = ss_drift_monitor_baseline(m);
    if (role != 0 /* PRIMARY */ || strlen(b->model_name) != name_len ||
        memcmp(b->model_name, name, name_len) || strlen(b->version) != version_len ||
        memcmp(b->version, version, version_len))
        return DRIFT_SKIPPED;
    *joined = ss_drift_monitor_score(m, id, id_len, score, now_ms);
    return DRIFT_APPLIED;
}

drift_apply_rc drift_apply_label(ss_drift_monitor *m, avro_value_t *rec, int64_t now_ms,
                                 int *joined, char *err, size_t errlen)
{
    avro_value_t f;
    const char *id;
    size_t id_len;
    int label;
    int64_t event_time, label_time;
    *joined = 0;
    if (string_field(rec, "event_id", &id, &id_len, err, errlen) < 0 ||
        field(rec, "label", &f, err, errlen) < 0)
        return DRIFT_BAD;
    if (avro_value_get_int(&f, &label) != 0) {
        ss_err(err, errlen, "bad record: field \"label\": expected int");
        return DRIFT_BAD;
    }
    if (label != 0 && label != 1) {
        ss_err(err, errlen, "bad record: field \"label\": expected 0 or 1, got %d", label);
        return DRIFT_BAD;
    }
    if (long_field(rec, "event_time", &event_time, err, errlen) < 0 ||
        long_field(rec, "label_time", &label_time, err, errlen) < 0)
        return DRIFT_BAD;
    *joined = ss_drift_monitor_label(m, id, id_len, label, event_time, label_time, now_ms);
    return DRIFT_APPLIED;
}
