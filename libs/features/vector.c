/* vector.c - feature vector accessors and its JSON / Avro renderings. */
#include <math.h>
#include <string.h>
#include "features-internal.h"

double ss_feature_vector_get(const ss_feature_vector *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0) return v->values[i];
    return NAN;
}

static json_t *string_map(size_t n, const char *const *names, const char *const *values)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        if (values[i]) json_object_set_new(o, names[i], json_string(values[i]));
    return o;
}

json_t *ss_feature_vector_to_json(const ss_feature_vector *v)
{
    json_t *o = json_object();
    json_t *feats = json_object();
    json_object_set_new(o, "event_id", json_string(v->event_id));
    json_object_set_new(o, "event_time", json_integer(v->event_time_ms));
    json_object_set_new(o, "entity_id", json_string(v->entity_id));
    json_object_set_new(o, "entities", string_map(v->n_entities, v->entity_names, v->entity_ids));
    for (size_t i = 0; i < v->n; i++)
        json_object_set_new(feats, v->names[i],
                            isfinite(v->values[i]) ? json_real(v->values[i]) : json_null());
    json_object_set_new(o, "features", feats);
    json_object_set_new(o, "categories",
                        string_map(v->n_categories, v->category_names, v->category_values));
    json_object_set_new(o, "definitions_version", json_string(v->definitions_version));
    json_object_set_new(o, "late", json_boolean(v->late));
    json_object_set_new(o, "computed_at", json_integer(v->computed_at_ms));
    return o;
}

static int set_string(avro_value_t *rec, const char *field, const char *s, char *err, size_t errlen)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, field, &f, NULL) != 0 || avro_value_set_string(&f, s) != 0)
        return ss_err(err, errlen, "feature vector to avro: field \"%s\": %s", field,
                      avro_strerror());
    return 0;
}

static int set_long(avro_value_t *rec, const char *field, int64_t x, char *err, size_t errlen)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, field, &f, NULL) != 0 || avro_value_set_long(&f, x) != 0)
        return ss_err(err, errlen, "feature vector to avro: field \"%s\": %s", field,
                      avro_strerror());
    return 0;
}

static int set_string_map(avro_value_t *rec, const char *field, size_t n, const char *const *names,
                          const char *const *values, char *err, size_t errlen)
{
    avro_value_t m, e;
    if (avro_value_get_by_name(rec, field, &m, NULL) != 0 || avro_value_reset(&m) != 0)
        return ss_err(err, errlen, "feature vector to avro: field \"%s\": %s", field,
                      avro_strerror());
    for (size_t i = 0; i < n; i++) {
        if (!values[i]) continue;
        if (avro_value_add(&m, names[i], &e, NULL, NULL) != 0 ||
            avro_value_set_string(&e, values[i]) != 0)
            return ss_err(err, errlen, "feature vector to avro: field \"%s\": %s", field,
                          avro_strerror());
    }
    return 0;
}

static int set_features(avro_value_t *rec, const ss_feature_vector *v, char *err, size_t errlen)
{
    avro_value_t m, u, b;
    if (avro_value_get_by_name(rec, "features", &m, NULL) != 0 || avro_value_reset(&m) != 0)
        return ss_err(err, errlen, "feature vector to avro: field \"features\": %s",
                      avro_strerror());
    for (size_t i = 0; i < v->n; i++) {
        int null = !isfinite(v->values[i]);
        if (avro_value_add(&m, v->names[i], &u, NULL, NULL) != 0 ||
            avro_value_set_branch(&u, null ? 0 : 1, &b) != 0 ||
            (null ? avro_value_set_null(&b) : avro_value_set_double(&b, v->values[i])) != 0)
            return ss_err(err, errlen, "feature vector to avro: feature \"%s\": %s", v->names[i],
                          avro_strerror());
    }
    return 0;
}

int ss_feature_vector_to_avro(const ss_feature_vector *v, avro_value_t *out, char *err,
                              size_t errlen)
{
    avro_value_t late;
    if (set_string(out, "event_id", v->event_id, err, errlen) < 0 ||
        set_long(out, "event_time", v->event_time_ms, err, errlen) < 0 ||
        set_string(out, "entity_id", v->entity_id, err, errlen) < 0 ||
        set_string_map(out, "entities", v->n_entities, v->entity_names, v->entity_ids, err,
                       errlen) < 0 ||
        set_features(out, v, err, errlen) < 0 ||
        set_string_map(out, "categories", v->n_categories, v->category_names, v->category_values,
                       err, errlen) < 0 ||
        set_string(out, "definitions_version", v->definitions_version, err, errlen) < 0 ||
        set_long(out, "computed_at", v->computed_at_ms, err, errlen) < 0)
        return -1;
    if (avro_value_get_by_name(out, "late", &late, NULL) != 0 ||
        avro_value_set_boolean(&late, v->late) != 0)
        return ss_err(err, errlen, "feature vector to avro: field \"late\": %s", avro_strerror());
    return 0;
}

void ss_features_online_key(const char *prefix, const char *entity, const char *id, ss_buf *out)
{
    ss_buf_printf(out, "%sonline:%s:%s", prefix && prefix[0] ? prefix : "ss:", entity, id);
}
