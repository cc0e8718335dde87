/* defs.c - the feature definition file: parse (jansson), validate with the
 * offending field's path in every error, and derive streams and inputs. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/sha.h>
#include "features-internal.h"

#define FD_MIN_WINDOW_MS 60000LL             /* 1 minute */
#define FD_MAX_WINDOW_MS (30LL * 86400000LL) /* 30 days */
#define FD_MAX_TILES 1000                    /* tiles merged per window read */
#define FD_MAX_FEATURES 1000

typedef struct parser {
    const char *origin;
    char *err;
    size_t errlen;
    ss_feature_defs *d;
    const char *text; /* the file, to find the line of the object in error */
    size_t len;
    const char *section; /* "features", "filters", "entities" or NULL */
    const char *anchor;  /* the object's name within the section, or NULL */
    int anchor_is_key;   /* the name is an object key (filters), else a "name" value */
} parser;

static const char *skip_space_back(const char *c, const char *start)
{
    while (c > start && (c[-1] == ' ' || c[-1] == '\t' || c[-1] == '\n' || c[-1] == '\r'))
        c--;
    return c;
}

/** Is the string at `at` (len n) the object's name: a key (followed by ':')
 * or the value of a "name" key? */
static int anchor_here(const parser *p, const char *at, size_t n)
{
    const char *end = p->text + p->len, *c = at + n;
    while (c < end && (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r'))
        c++;
    if (p->anchor_is_key) return c < end && *c == ':';
    c = skip_space_back(at, p->text);
    if (c == p->text || c[-1] != ':') return 0;
    c = skip_space_back(c - 1, p->text);
    return c - p->text >= 6 && memcmp(c - 6, "\"name\"", 6) == 0;
}

/** Line of the first "<anchor>" string after the "<section>" key: jansson
 * keeps no positions of values, so errors about a named object find it in the
 * text. 0 when not found. */
static int anchor_line(const parser *p)
{
    char needle[160];
    const char *end = p->text + p->len, *at;
    if (!p->section || !p->anchor) return 0;
    snprintf(needle, sizeof needle, "\"%s\"", p->section);
    if (!(at = memmem(p->text, p->len, needle, strlen(needle)))) return 0;
    snprintf(needle, sizeof needle, "\"%s\"", p->anchor);
    size_t n = strlen(needle);
    while ((at = memmem(at, (size_t)(end - at), needle, n)) && !anchor_here(p, at, n))
        at += n;
    if (!at) return 0;
    int line = 1;
    for (const char *c = p->text; c < at; c++)
        line += *c == '\n';
    return line;
}

static int fail(parser *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parser *p, const char *path, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    int line = anchor_line(p);
    if (line > 0)
        return ss_err(p->err, p->errlen, "bad feature definitions: %s:%d: %s: %s", p->origin, line,
                      path, why);
    return ss_err(p->err, p->errlen, "bad feature definitions: %s: %s: %s", p->origin, path, why);
}

/* ------------------------------------------------------------ small parsers */

/** "<integer><unit>" with unit ms, s, m, h or d; units are required. */
static int parse_duration(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    char *end = NULL;
    if (!isdigit((unsigned char)s[0])) return -1;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s) return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (n > INT64_MAX / units[i].ms) return -1;
            *out = n * units[i].ms;
            return 0;
        }
    }
    return -1;
}

/** Feature, entity and filter names: [a-z][a-z0-9_]*, at most 64 chars. */
static int valid_name(const char *s)
{
    if (!s[0] || !islower((unsigned char)s[0]) || strlen(s) > 64) return 0;
    for (const char *c = s; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_') return 0;
    return 1;
}

/** Avro field names: [A-Za-z_][A-Za-z0-9_]*. */
static int valid_field(const char *s)
{
    if (!s[0] || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') return 0;
    return 1;
}

static int check_keys(parser *p, const char *path, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, key) == 0;
        if (!ok) return fail(p, path, "unknown key \"%s\"", key);
    }
    return 0;
}

/** A required (or optional with def) string member. */
static int get_string(parser *p, const char *path, json_t *obj, const char *key, const char *def,
                      const char **out)
{
    json_t *v = json_object_get(obj, key);
    char where[256];
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", key);
    if (!v) {
        if (def) {
            *out = def;
            return 0;
        }
        return fail(p, where, "missing");
    }
    if (!json_is_string(v)) return fail(p, where, "expected string");
    *out = json_string_value(v);
    if (!**out) return fail(p, where, "empty string");
    return 0;
}

static int get_duration(parser *p, const char *path, json_t *obj, const char *key, const char *def,
                        int64_t *out)
{
    const char *s = NULL;
    char where[256];
    if (get_string(p, path, obj, key, def, &s) < 0) return -1;
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", key);
    if (parse_duration(s, out) < 0 || *out <= 0)
        return fail(p, where, "bad duration \"%s\" (expected e.g. 30s, 5m, 1h, 30d)", s);
    return 0;
}

/* ------------------------------------------------------------ sections */

static int parse_entities(parser *p, json_t *arr)
{
    static const char *const keys[] = {"name", "field", "primary", NULL};
    ss_feature_defs *d = p->d;
    if (!arr) return fail(p, "entities", "missing");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(p, "entities", "expected a non-empty array");
    d->n_entities = json_array_size(arr);
    d->entities = ss_calloc(d->n_entities, sizeof *d->entities);
    d->entity_names = ss_calloc(d->n_entities + 1, sizeof *d->entity_names);
    d->primary = -1;
    for (size_t i = 0; i < d->n_entities; i++) {
        json_t *e = json_array_get(arr, i);
        char path[64];
        const char *name = NULL, *field = NULL;
        snprintf(path, sizeof path, "entities[%zu]", i);
        if (!json_is_object(e)) return fail(p, path, "expected object");
        if (check_keys(p, path, e, keys) < 0) return -1;
        if (get_string(p, path, e, "name", NULL, &name) < 0) return -1;
        if (get_string(p, path, e, "field", NULL, &field) < 0) return -1;
        if (!valid_name(name))
            return fail(p, path, "bad name \"%s\" (expected [a-z][a-z0-9_]*)", name);
        if (!valid_field(field)) return fail(p, path, "bad field \"%s\"", field);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->entities[j].name, name) == 0)
                return fail(p, path, "duplicate entity \"%s\"", name);
        d->entities[i].name = ss_strdup(name);
        d->entities[i].field = ss_strdup(field);
        d->entity_names[i] = d->entities[i].name;
        json_t *prim = json_object_get(e, "primary");
        if (prim && !json_is_boolean(prim)) return fail(p, path, "primary: expected boolean");
        if (json_is_true(prim)) {
            if (d->primary >= 0)
                return fail(p, path, "second primary entity (\"%s\" is primary)",
                            d->entities[d->primary].name);
            d->primary = (int)i;
            d->entities[i].primary = 1;
        }
    }
    if (d->primary < 0) return fail(p, "entities", "no entity has \"primary\": true");
    return 0;
}

static int parse_categories(parser *p, json_t *arr)
{
    ss_feature_defs *d = p->d;
    if (!arr) return 0;
    if (!json_is_array(arr)) return fail(p, "categories", "expected array of field names");
    d->n_categories = json_array_size(arr);
    d->categories = ss_calloc(d->n_categories + 1, sizeof *d->categories);
    for (size_t i = 0; i < d->n_categories; i++) {
        json_t *c = json_array_get(arr, i);
        char path[64];
        snprintf(path, sizeof path, "categories[%zu]", i);
        if (!json_is_string(c) || !valid_field(json_string_value(c)))
            return fail(p, path, "expected a field name");
        d->categories[i] = ss_strdup(json_string_value(c));
    }
    return 0;
}

static int filter_values(parser *p, const char *path, fd_filter *f, json_t *v, int list)
{
    if (list) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail(p, path, "expected a non-empty array");
    }
    size_t n = list ? json_array_size(v) : 1;
    f->nvals = n;
    f->svals = ss_calloc(n, sizeof *f->svals);
    f->nvals_d = ss_calloc(n, sizeof *f->nvals_d);
    for (size_t i = 0; i < n; i++) {
        json_t *x = list ? json_array_get(v, i) : v;
        int numeric = json_is_number(x);
        if (!numeric && !json_is_string(x)) return fail(p, path, "expected string or number");
        if (i > 0 && numeric != f->numeric) return fail(p, path, "mixes strings and numbers");
        f->numeric = numeric;
        if (numeric)
            f->nvals_d[i] = json_number_value(x);
        else
            f->svals[i] = ss_strdup(json_string_value(x));
    }
    return 0;
}

static int parse_filter(parser *p, const char *path, fd_filter *f, json_t *o)
{
    static const char *const keys[] = {"field", "equals", "not_equals", "in",      "not_in", "gt",
                                       "gte",   "lt",     "lte",        "is_null", NULL};
    static const struct {
        const char *key;
        fd_op op;
        int list, number;
    } ops[] = {
        {"equals", FD_OP_EQ, 0, 0},     {"not_equals", FD_OP_NE, 0, 0}, {"in", FD_OP_IN, 1, 0},
        {"not_in", FD_OP_NOT_IN, 1, 0}, {"gt", FD_OP_GT, 0, 1},         {"gte", FD_OP_GTE, 0, 1},
        {"lt", FD_OP_LT, 0, 1},         {"lte", FD_OP_LTE, 0, 1},
    };
    const char *field = NULL;
    int nops = 0;
    if (!json_is_object(o)) return fail(p, path, "expected object");
    if (check_keys(p, path, o, keys) < 0) return -1;
    if (get_string(p, path, o, "field", NULL, &field) < 0) return -1;
    if (!valid_field(field)) return fail(p, path, "bad field \"%s\"", field);
    f->field = ss_strdup(field);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        json_t *v = json_object_get(o, ops[i].key);
        char where[256];
        if (!v) continue;
        if (nops++) break; /* reported below */
        snprintf(where, sizeof where, "%s.%s", path, ops[i].key);
        f->op = ops[i].op;
        if (filter_values(p, where, f, v, ops[i].list) < 0) return -1;
        if (ops[i].number && !f->numeric) return fail(p, where, "expected number");
    }
    json_t *isnull = json_object_get(o, "is_null");
    if (isnull && nops++ == 0) {
        if (!json_is_boolean(isnull)) return fail(p, path, "is_null: expected boolean");
        f->op = json_is_true(isnull) ? FD_OP_NULL : FD_OP_NOTNULL;
    }
    if (nops != 1)
        return fail(p, path,
                    "expected exactly one of equals, not_equals, in, not_in, gt, gte, "
                    "lt, lte, is_null");
    return 0;
}

static int parse_filters(parser *p, json_t *obj)
{
    ss_feature_defs *d = p->d;
    const char *key;
    json_t *val;
    if (!obj) return 0;
    if (!json_is_object(obj)) return fail(p, "filters", "expected object of named filters");
    d->filters = ss_calloc(json_object_size(obj) + 1, sizeof *d->filters);
    json_object_foreach(obj, key, val)
    {
        char path[128];
        snprintf(path, sizeof path, "filters.%s", key);
        fd_filter *f = &d->filters[d->n_filters++];
        f->name = ss_strdup(key);
        p->section = "filters";
        p->anchor = f->name;
        p->anchor_is_key = 1;
        if (!valid_name(key)) return fail(p, path, "bad filter name (expected [a-z][a-z0-9_]*)");
        if (parse_filter(p, path, f, val) < 0) return -1;
    }
    p->section = p->anchor = NULL;
    return 0;
}

static int find_entity(const ss_feature_defs *d, const char *name)
{
    for (size_t i = 0; i < d->n_entities; i++)
        if (strcmp(d->entities[i].name, name) == 0) return (int)i;
    return -1;
}

static int find_filter(const ss_feature_defs *d, const char *name)
{
    for (size_t i = 0; i < d->n_filters; i++)
        if (strcmp(d->filters[i].name, name) == 0) return (int)i;
    return -1;
}

static int parse_agg(const char *s, fd_agg *out)
{
    static const struct {
        const char *name;
        fd_agg agg;
    } aggs[] = {
        {"count", FD_COUNT},
        {"sum", FD_SUM},
        {"mean", FD_MEAN},
        {"min", FD_MIN},
        {"max", FD_MAX},
        {"stddev", FD_STDDEV},
        {"last", FD_LAST},
        {"distinct_count", FD_DISTINCT},
        {"time_since_last", FD_SINCE},
        {"ratio", FD_RATIO},
    };
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (strcmp(aggs[i].name, s) == 0) {
            *out = aggs[i].agg;
            return 0;
        }
    return -1;
}

/** Largest standard tile dividing the window into at least 24 tiles. */
static int64_t auto_tile(int64_t window_ms)
{
    static const int64_t tiles[] = {86400000, 3600000, 300000, 60000, 10000, 1000};
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++)
        if (window_ms % tiles[i] == 0 && window_ms / tiles[i] >= 24) return tiles[i];
    return 1000;
}

static int parse_window(parser *p, const char *path, fd_feature *f, json_t *o)
{
    int windowed = f->agg != FD_LAST && f->agg != FD_SINCE;
    if (!windowed) {
        if (json_object_get(o, "window") || json_object_get(o, "tile"))
            return fail(p, path, "window: not allowed for %s (it uses the latest event)",
                        f->agg == FD_LAST ? "last" : "time_since_last");
        return 0;
    }
    char where[256];
    if (get_duration(p, path, o, "window", NULL, &f->window_ms) < 0) return -1;
    snprintf(where, sizeof where, "%s.window", path);
    if (f->window_ms < FD_MIN_WINDOW_MS || f->window_ms > FD_MAX_WINDOW_MS)
        return fail(p, where, "%lld ms is outside 1m .. 30d", (long long)f->window_ms);
    if (json_object_get(o, "tile")) {
        if (get_duration(p, path, o, "tile", NULL, &f->tile_ms) < 0) return -1;
    } else {
        f->tile_ms = auto_tile(f->window_ms);
    }
    snprintf(where, sizeof where, "%s.tile", path);
    if (f->tile_ms < 1000 || f->tile_ms % 1000)
        return fail(p, where, "must be a whole number of seconds");
    if (f->window_ms % f->tile_ms)
        return fail(p, where, "window %lld ms is not a multiple of tile %lld ms",
                    (long long)f->window_ms, (long long)f->tile_ms);
    if (f->window_ms / f->tile_ms > FD_MAX_TILES)
        return fail(p, where, "window needs %lld tiles (max %d): use a larger tile",
                    (long long)(f->window_ms / f->tile_ms), FD_MAX_TILES);
    return 0;
}

static int parse_feature_field(parser *p, const char *path, fd_feature *f, json_t *o)
{
    int needs = f->agg != FD_COUNT && f->agg != FD_SINCE;
    json_t *fv = json_object_get(o, "field");
    const char *field = NULL;
    if (!needs) {
        if (fv)
            return fail(p, path, "field: not allowed for %s",
                        f->agg == FD_COUNT ? "count" : "time_since_last");
        return 0;
    }
    if (get_string(p, path, o, "field", NULL, &field) < 0) return -1;
    if (!valid_field(field)) return fail(p, path, "field: bad field name \"%s\"", field);
    f->field = ss_strdup(field);
    return 0;
}

static int parse_feature(parser *p, size_t i, json_t *o)
{
    static const char *const keys[] = {"name", "entity", "agg", "field",           "window",
                                       "tile", "filter", "of",  "include_current", "group_by",
                                       "doc",  NULL};
    ss_feature_defs *d = p->d;
    fd_feature *f = &d->features[i];
    char path[160];
    const char *name = NULL, *entity = NULL, *agg = NULL, *filter = NULL;
    snprintf(path, sizeof path, "features[%zu]", i);
    f->filter = -1;
    f->input = -1;
    f->stream = -1;
    f->group = -1;
    if (!json_is_object(o)) return fail(p, path, "expected object");
    if (get_string(p, path, o, "name", NULL, &name) < 0) return -1;
    f->name = ss_strdup(name);
    d->names[i] = f->name;
    p->section = "features";
    p->anchor = f->name;
    p->anchor_is_key = 0;
    snprintf(path, sizeof path, "features[%zu] (%s)", i, name);
    if (!valid_name(name)) return fail(p, path, "name: bad name (expected [a-z][a-z0-9_]*)");
    for (size_t j = 0; j < i; j++)
        if (strcmp(d->features[j].name, name) == 0) {
            p->anchor = NULL; /* the text search would find the first one */
            return fail(p, path, "name: duplicate feature name (also features[%zu])", j);
        }
    if (check_keys(p, path, o, keys) < 0) return -1;
    if (get_string(p, path, o, "entity", NULL, &entity) < 0) return -1;
    if ((f->entity = find_entity(d, entity)) < 0)
        return fail(p, path, "entity: unknown entity \"%s\"", entity);
    if (get_string(p, path, o, "agg", NULL, &agg) < 0) return -1;
    if (parse_agg(agg, &f->agg) < 0)
        return fail(p, path,
                    "agg: unknown aggregation \"%s\" (expected count, sum, mean, min, "
                    "max, stddev, last, distinct_count, time_since_last or ratio)",
                    agg);
    if (parse_feature_field(p, path, f, o) < 0) return -1;
    if (parse_window(p, path, f, o) < 0) return -1;
    if (get_string(p, path, o, "filter", "", &filter) == 0 && filter[0]) {
        if ((f->filter = find_filter(d, filter)) < 0)
            return fail(p, path, "filter: unknown filter \"%s\"", filter);
    } else if (json_object_get(o, "filter")) {
        return -1;
    }
    json_t *of = json_object_get(o, "of");
    if (f->agg == FD_RATIO) {
        const char *ofs = "mean";
        if (of && !json_is_string(of)) return fail(p, path, "of: expected string");
        if (of) ofs = json_string_value(of);
        if (parse_agg(ofs, &f->of) < 0 ||
            !(f->of == FD_MEAN || f->of == FD_SUM || f->of == FD_MIN || f->of == FD_MAX))
            return fail(p, path, "of: expected mean, sum, min or max, got \"%s\"", ofs);
    } else if (of) {
        return fail(p, path, "of: only for ratio");
    }
    json_t *inc = json_object_get(o, "include_current");
    f->include_current = f->agg != FD_RATIO; /* a ratio compares with the history */
    if (inc) {
        if (!json_is_boolean(inc)) return fail(p, path, "include_current: expected boolean");
        if (f->agg == FD_LAST || f->agg == FD_SINCE)
            return fail(p, path, "include_current: not allowed for %s (always the previous event)",
                        agg);
        f->include_current = json_is_true(inc);
    }
    json_t *by = json_object_get(o, "group_by");
    if (by) {
        if (f->agg == FD_LAST || f->agg == FD_SINCE)
            return fail(p, path, "group_by: not allowed for %s", agg);
        if (!json_is_string(by) || !valid_field(json_string_value(by)))
            return fail(p, path, "group_by: expected a field name");
        f->group_by = ss_strdup(json_string_value(by));
    }
    json_t *doc = json_object_get(o, "doc");
    if (doc && !json_is_string(doc)) return fail(p, path, "doc: expected string");
    return 0;
}

/* ------------------------------------------------------------ derived tables */

static int intern(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0) return (int)i;
    *list = ss_realloc(*list, (*n + 1) * sizeof **list);
    (*list)[*n] = ss_strdup(s);
    return (int)(*n)++;
}

static const char *tile_name(int64_t ms, char *buf, size_t len)
{
    if (ms % 86400000 == 0)
        snprintf(buf, len, "%lldd", (long long)(ms / 86400000));
    else if (ms % 3600000 == 0)
        snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0)
        snprintf(buf, len, "%lldm", (long long)(ms / 60000));
    else
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
    return buf;
}

static int stream_of(ss_feature_defs *d, fd_stream **streams, size_t *n, const fd_feature *f,
                     const char *field)
{
    for (size_t i = 0; i < *n; i++) {
        fd_stream *s = &(*streams)[i];
        if (s->entity == f->entity && s->input == f->input && s->filter == f->filter &&
            s->tile_ms == f->tile_ms && s->group == f->group)
            return (int)i;
    }
    *streams = ss_realloc(*streams, (*n + 1) * sizeof **streams);
    fd_stream *s = &(*streams)[*n];
    char tn[32];
    ss_buf b;
    memset(s, 0, sizeof *s);
    s->entity = f->entity;
    s->input = f->input;
    s->filter = f->filter;
    s->group = f->group;
    s->tile_ms = f->tile_ms;
    ss_buf_init(&b);
    ss_buf_printf(&b, "%s:%s:%s", field ? field : "*",
                  f->filter >= 0 ? d->filters[f->filter].name : "*",
                  tile_name(f->tile_ms, tn, sizeof tn));
    if (f->group_by) ss_buf_printf(&b, ":by=%s", f->group_by);
    s->key_part = b.data;
    return (int)(*n)++;
}

static void derive(ss_feature_defs *d)
{
    for (size_t i = 0; i < d->n_features; i++) {
        fd_feature *f = &d->features[i];
        if (f->group_by) f->group = intern(&d->str_inputs, &d->n_str_inputs, f->group_by);
        if (f->agg == FD_DISTINCT) {
            f->input = intern(&d->str_inputs, &d->n_str_inputs, f->field);
            f->stream = stream_of(d, &d->hll, &d->n_hll, f, f->field);
        } else if (f->field) {
            f->input = intern(&d->num_inputs, &d->n_num_inputs, f->field);
            if (f->agg != FD_LAST)
                f->stream = stream_of(d, &d->streams, &d->n_streams, f, f->field);
        } else if (f->agg == FD_COUNT) {
            f->stream = stream_of(d, &d->streams, &d->n_streams, f, NULL);
        }
        if (f->window_ms > d->max_window_ms) d->max_window_ms = f->window_ms;
    }
    for (size_t i = 0; i < d->n_features; i++) {
        fd_feature *f = &d->features[i];
        if (f->stream < 0) continue;
        fd_stream *s = f->agg == FD_DISTINCT ? &d->hll[f->stream] : &d->streams[f->stream];
        int64_t n = f->window_ms / f->tile_ms;
        if (n > s->max_tiles) s->max_tiles = n;
    }
    fd_stream *all[2] = {d->streams, d->hll};
    size_t counts[2] = {d->n_streams, d->n_hll};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            fd_stream *s = &all[k][i];
            s->ttl_ms = s->max_tiles * s->tile_ms + d->grace_ms + s->tile_ms;
        }
    if (d->max_window_ms == 0) d->max_window_ms = 86400000; /* only last/time_since_last */
}

/* ------------------------------------------------------------ entry points */

static int parse_root(parser *p, json_t *root)
{
    static const char *const keys[] = {"version",    "event_id", "event_time", "grace", "entities",
                                       "categories", "filters",  "features",   "doc",   NULL};
    ss_feature_defs *d = p->d;
    const char *s = NULL;
    if (!json_is_object(root)) return fail(p, "(root)", "expected a JSON object");
    if (check_keys(p, "(root)", root, keys) < 0) return -1;
    if (get_string(p, "", root, "version", NULL, &s) < 0) return -1;
    d->version = ss_strdup(s);
    if (get_string(p, "", root, "event_id", "event_id", &s) < 0) return -1;
    d->event_id_field = ss_strdup(s);
    if (get_string(p, "", root, "event_time", "event_time", &s) < 0) return -1;
    d->event_time_field = ss_strdup(s);
    if (get_duration(p, "", root, "grace", "10m", &d->grace_ms) < 0) return -1;
    if (parse_entities(p, json_object_get(root, "entities")) < 0) return -1;
    if (parse_categories(p, json_object_get(root, "categories")) < 0) return -1;
    if (parse_filters(p, json_object_get(root, "filters")) < 0) return -1;
    json_t *feats = json_object_get(root, "features");
    if (!feats) return fail(p, "features", "missing");
    if (!json_is_array(feats) || json_array_size(feats) == 0)
        return fail(p, "features", "expected a non-empty array");
    if (json_array_size(feats) > FD_MAX_FEATURES)
        return fail(p, "features", "more than %d features", FD_MAX_FEATURES);
    d->n_features = json_array_size(feats);
    d->features = ss_calloc(d->n_features, sizeof *d->features);
    d->names = ss_calloc(d->n_features + 1, sizeof *d->names);
    for (size_t i = 0; i < d->n_features; i++)
        if (parse_feature(p, i, json_array_get(feats, i)) < 0) return -1;
    p->section = p->anchor = NULL;
    derive(d);
    return 0;
}

ss_feature_defs *ss_feature_defs_parse(const char *text, size_t len, const char *origin, char *err,
                                       size_t errlen)
{
    json_error_t jerr;
    parser p = {origin ? origin : "(memory)", err, errlen, NULL, text, len, NULL, NULL, 0};
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        ss_err(err, errlen, "bad feature definitions: %s:%d:%d: invalid JSON: %s", p.origin,
               jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    p.d = ss_calloc(1, sizeof *p.d);
    p.d->origin = ss_strdup(p.origin);
    if (parse_root(&p, root) < 0) {
        json_decref(root);
        ss_feature_defs_free(p.d);
        return NULL;
    }
    json_decref(root);
    p.d->lua = fd_lua_generate(p.d);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)p.d->lua, strlen(p.d->lua), md);
    for (int i = 0; i < 6; i++)
        snprintf(p.d->tag + 2 * i, 3, "%02x", md[i]);
    return p.d;
}

ss_feature_defs *ss_feature_defs_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    ss_buf b;
    char chunk[8192];
    size_t n;
    if (!fp) {
        ss_err(err, errlen, "bad feature definitions: %s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    ss_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        ss_buf_append(&b, chunk, n);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr) {
        ss_buf_free(&b);
        ss_err(err, errlen, "bad feature definitions: %s: read failed", path);
        return NULL;
    }
    ss_feature_defs *d = ss_feature_defs_parse(b.data ? b.data : "", b.len, path, err, errlen);
    ss_buf_free(&b);
    return d;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ss_free(v[i]);
    ss_free(v);
}

void ss_feature_defs_free(ss_feature_defs *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_entities; i++) {
        ss_free(d->entities[i].name);
        ss_free(d->entities[i].field);
    }
    ss_free(d->entities);
    ss_free(d->entity_names);
    free_strv(d->categories, d->n_categories);
    for (size_t i = 0; i < d->n_filters; i++) {
        fd_filter *f = &d->filters[i];
        ss_free(f->name);
        ss_free(f->field);
        free_strv(f->svals, f->nvals);
        ss_free(f->nvals_d);
    }
    ss_free(d->filters);
    for (size_t i = 0; i < d->n_features; i++) {
        ss_free(d->features[i].name);
        ss_free(d->features[i].field);
        ss_free(d->features[i].group_by);
    }
    ss_free(d->features);
    ss_free(d->names);
    free_strv(d->num_inputs, d->n_num_inputs);
    free_strv(d->str_inputs, d->n_str_inputs);
    for (size_t i = 0; i < d->n_streams; i++)
        ss_free(d->streams[i].key_part);
    for (size_t i = 0; i < d->n_hll; i++)
        ss_free(d->hll[i].key_part);
    ss_free(d->streams);
    ss_free(d->hll);
    ss_free(d->lua);
    ss_free(d->version);
    ss_free(d->event_id_field);
    ss_free(d->event_time_field);
    ss_free(d->origin);
    ss_free(d);
}

/* ------------------------------------------------------------ accessors */

const char *ss_feature_defs_version(const ss_feature_defs *d)
{
    return d->version;
}
size_t ss_feature_defs_count(const ss_feature_defs *d)
{
    return d->n_features;
}
const char *const *ss_feature_defs_names(const ss_feature_defs *d)
{
    return (const char *const *)d->names;
}
int ss_feature_defs_index(const ss_feature_defs *d, const char *name)
{
    for (size_t i = 0; i < d->n_features; i++)
        if (strcmp(d->names[i], name) == 0) return (int)i;
    return -1;
}
const char *ss_feature_defs_primary(const ss_feature_defs *d)
{
    return d->entities[d->primary].name;
}
const char *ss_feature_defs_primary_field(const ss_feature_defs *d)
{
    return d->entities[d->primary].field;
}
size_t ss_feature_defs_entity_count(const ss_feature_defs *d)
{
    return d->n_entities;
}
const char *ss_feature_defs_entity_name(const ss_feature_defs *d, size_t i)
{
    return i < d->n_entities ? d->entities[i].name : NULL;
}
int64_t ss_feature_defs_max_window_ms(const ss_feature_defs *d)
{
    return d->max_window_ms;
}
int64_t ss_feature_defs_grace_ms(const ss_feature_defs *d)
{
    return d->grace_ms;
}
const char *ss_feature_defs_lua(const ss_feature_defs *d)
{
    return d->lua;
}
