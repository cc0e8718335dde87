/* schema.c - definitions vs the event schema: every field used exists and
 * has a type the feature can use. */
#include <string.h>
#include "features-internal.h"

enum { USE_NUMBER = 1, USE_KEY = 2, USE_ANY = 3, USE_TIME = 4 };

/** Type of a field with a nullable union unwrapped; *nullable set. */
static avro_type_t field_type(avro_schema_t rec, const char *name, int *nullable, int *found)
{
    int index = avro_schema_record_field_get_index(rec, name);
    *nullable = 0;
    *found = index >= 0;
    if (index < 0) return AVRO_NULL;
    avro_schema_t s = avro_schema_record_field_get_by_index(rec, index);
    if (is_avro_union(s)) {
        avro_type_t t = AVRO_NULL;
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            avro_schema_t b = avro_schema_union_branch(s, (int)i);
            if (is_avro_null(b))
                *nullable = 1;
            else
                t = avro_typeof(b);
        }
        return t;
    }
    return avro_typeof(s);
}

static int usable(avro_type_t t, int use)
{
    int number = t == AVRO_INT32 || t == AVRO_INT64 || t == AVRO_FLOAT || t == AVRO_DOUBLE ||
                 t == AVRO_BOOLEAN;
    int key = t == AVRO_STRING || t == AVRO_ENUM || t == AVRO_INT32 || t == AVRO_INT64;
    switch (use) {
    case USE_NUMBER:
        return number;
    case USE_KEY:
        return key;
    case USE_TIME:
        return t == AVRO_INT64 || t == AVRO_INT32;
    default:
        return number || key;
    }
}

static int check(avro_schema_t rec, const char *field, int use, const char *user, char *err,
                 size_t errlen)
{
    static const char *const what[] = {"", "a number", "a string, enum or integer", "a primitive",
                                       "an int or long (epoch ms)"};
    int nullable, found;
    avro_type_t t = field_type(rec, field, &nullable, &found);
    if (!found)
        return ss_err(err, errlen,
                      "feature definitions: field \"%s\" (used by %s): not in schema %s", field,
                      user, avro_schema_name(rec));
    if (!usable(t, use))
        return ss_err(err, errlen, "feature definitions: field \"%s\" (used by %s): expected %s",
                      field, user, what[use]);
    return 0;
}

int ss_feature_defs_check_schema(const ss_feature_defs *d, avro_schema_t record, char *err,
                                 size_t errlen)
{
    if (!record || !is_avro_record(record))
        return ss_err(err, errlen, "feature definitions: event schema is not a record");
    if (check(record, d->event_id_field, USE_KEY, "event_id", err, errlen) < 0 ||
        check(record, d->event_time_field, USE_TIME, "event_time", err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < d->n_entities; i++)
        if (check(record, d->entities[i].field, USE_KEY, d->entities[i].name, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < d->n_categories; i++)
        if (check(record, d->categories[i], USE_ANY, "categories", err, errlen) < 0) return -1;
    for (size_t i = 0; i < d->n_filters; i++)
        if (check(record, d->filters[i].field, USE_ANY, d->filters[i].name, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < d->n_features; i++) {
        const fd_feature *f = &d->features[i];
        if (f->group_by && check(record, f->group_by, USE_KEY, f->name, err, errlen) < 0) return -1;
        if (!f->field) continue;
        if (check(record, f->field, f->agg == FD_DISTINCT ? USE_KEY : USE_NUMBER, f->name, err,
                  errlen) < 0)
            return -1;
    }
    return 0;
}
