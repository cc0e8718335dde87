/* call.c - event (Avro record) -> script arguments, and script reply ->
 * feature vector. Filters are evaluated here, on the event's own fields. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "features-internal.h"

#define FD_DEFAULT_DEDUP_TTL_MS 3600000LL         /* vectors: 1 hour */
#define FD_DEFAULT_SEEN_TTL_MS (7LL * 86400000LL) /* event ids: 7 days */

void fd_opts_defaults(ss_features_opts *out, const ss_features_opts *in, const ss_feature_defs *d)
{
    memset(out, 0, sizeof *out);
    if (in) *out = *in;
    if (!out->prefix || !out->prefix[0]) out->prefix = "ss:";
    if (out->dedup_ttl_ms <= 0) out->dedup_ttl_ms = FD_DEFAULT_DEDUP_TTL_MS;
    if (out->seen_ttl_ms <= 0) out->seen_ttl_ms = FD_DEFAULT_SEEN_TTL_MS;
    if (out->online_ttl_ms <= 0) out->online_ttl_ms = d->max_window_ms + d->grace_ms;
}

/* ------------------------------------------------------------ field access */

typedef enum { FV_MISSING, FV_NULL, FV_STR, FV_NUM } fv_kind;

typedef struct fv {
    fv_kind kind;
    const char *s; /* FV_STR (and FV_NUM rendered), NUL-terminated */
    double num;    /* FV_NUM */
    char buf[32];
} fv;

static void fv_number(fv *out, double x)
{
    out->kind = FV_NUM;
    out->num = x;
    snprintf(out->buf, sizeof out->buf, "%.17g", x);
    out->s = out->buf;
}

/** Read a field of the record, unwrapping unions. Enums read as their
 * symbol; ints, longs, floats, doubles and booleans as numbers. */
static void field_get(avro_value_t *rec, const char *name, fv *out)
{
    avro_value_t v, branch;
    memset(out, 0, sizeof *out);
    out->kind = FV_MISSING;
    if (avro_value_get_by_name(rec, name, &v, NULL) != 0) return;
    while (avro_value_get_type(&v) == AVRO_UNION) {
        if (avro_value_get_current_branch(&v, &branch) != 0) return;
        v = branch;
    }
    switch (avro_value_get_type(&v)) {
    case AVRO_NULL:
        out->kind = FV_NULL;
        break;
    case AVRO_STRING: {
        const char *s = NULL;
        size_t len = 0;
        if (avro_value_get_string(&v, &s, &len) == 0) {
            out->kind = FV_STR;
            out->s = s;
        }
        break;
    }
    case AVRO_ENUM: {
        int sym = 0;
        avro_schema_t sch = avro_value_get_schema(&v);
        if (avro_value_get_enum(&v, &sym) == 0 && sch) {
            out->s = avro_schema_enum_get(sch, sym);
            out->kind = out->s ? FV_STR : FV_MISSING;
        }
        break;
    }
    case AVRO_INT32: {
        int32_t x = 0;
        if (avro_value_get_int(&v, &x) == 0) fv_number(out, x);
        break;
    }
    case AVRO_INT64: {
        int64_t x = 0;
        if (avro_value_get_long(&v, &x) == 0) {
            fv_number(out, (double)x);
            snprintf(out->buf, sizeof out->buf, "%lld", (long long)x); /* exact ids */
        }
        break;
    }
    case AVRO_FLOAT: {
        float x = 0;
        if (avro_value_get_float(&v, &x) == 0) fv_number(out, x);
        break;
    }
    case AVRO_DOUBLE: {
        double x = 0;
        if (avro_value_get_double(&v, &x) == 0) fv_number(out, x);
        break;
    }
    case AVRO_BOOLEAN: {
        int x = 0;
        if (avro_value_get_boolean(&v, &x) == 0) fv_number(out, x ? 1 : 0);
        break;
    }
    default:
        break;
    }
}

/** Null (or missing) never equals anything: eq/in/gt/... are false and
 * not_equals/not_in are true. Strings compare with string constants, numbers
 * with numeric ones; a type mismatch counts as "not equal". */
static int filter_match(const fd_filter *f, avro_value_t *event)
{
    fv v;
    int eq = 0;
    field_get(event, f->field, &v);
    int present = v.kind == FV_STR || v.kind == FV_NUM;
    if (f->op == FD_OP_NULL) return !present;
    if (f->op == FD_OP_NOTNULL) return present;
    if (!present) return f->op == FD_OP_NE || f->op == FD_OP_NOT_IN;
    if (f->op == FD_OP_GT || f->op == FD_OP_GTE || f->op == FD_OP_LT || f->op == FD_OP_LTE) {
        if (v.kind != FV_NUM) return 0;
        double c = f->nvals_d[0];
        switch (f->op) {
        case FD_OP_GT:
            return v.num > c;
        case FD_OP_GTE:
            return v.num >= c;
        case FD_OP_LT:
            return v.num < c;
        default:
            return v.num <= c;
        }
    }
    for (size_t i = 0; i < f->nvals && !eq; i++) {
        if (f->numeric)
            eq = v.kind == FV_NUM && v.num == f->nvals_d[i];
        else
            eq = v.kind == FV_STR && strcmp(v.s, f->svals[i]) == 0;
    }
    return (f->op == FD_OP_EQ || f->op == FD_OP_IN) ? eq : !eq;
}

/* ------------------------------------------------------------ call */

void fd_call_init(fd_call *c)
{
    memset(c, 0, sizeof *c);
    ss_buf_init(&c->strings);
}

static void call_reset(fd_call *c)
{
    ss_buf_reset(&c->strings);
    c->argc = 0;
    ss_free(c->event_id);
    c->event_id = NULL;
    for (size_t i = 0; i < c->n_entities; i++)
        ss_free(c->entity_ids[i]);
    for (size_t i = 0; i < c->n_categories; i++)
        ss_free(c->category_values[i]);
    ss_free(c->entity_ids);
    ss_free(c->category_values);
    c->entity_ids = c->category_values = NULL;
    c->n_entities = c->n_categories = 0;
}

void fd_call_free(fd_call *c)
{
    call_reset(c);
    ss_buf_free(&c->strings);
    ss_free(c->off);
    ss_free(c->len);
    ss_free(c->argv);
    memset(c, 0, sizeof *c);
}

static void arg(fd_call *c, const char *s, size_t n)
{
    if (c->argc == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->off = ss_realloc(c->off, c->cap * sizeof *c->off);
        c->len = ss_realloc(c->len, c->cap * sizeof *c->len);
        c->argv = ss_realloc(c->argv, c->cap * sizeof *c->argv);
    }
    c->off[c->argc] = c->strings.len;
    c->len[c->argc] = n;
    c->argc++;
    ss_buf_append(&c->strings, s, n);
    ss_buf_append(&c->strings, "", 1);
}

static void arg_str(fd_call *c, const char *s)
{
    arg(c, s, strlen(s));
}

static void arg_int(fd_call *c, int64_t x)
{
    char b[32];
    arg(c, b, (size_t)snprintf(b, sizeof b, "%lld", (long long)x));
}

static int event_identity(fd_call *c, const ss_feature_defs *d, avro_value_t *event, char *err,
                          size_t errlen)
{
    fv v;
    field_get(event, d->event_id_field, &v);
    if (v.kind != FV_STR || !v.s[0])
        return ss_err(err, errlen, "bad event: field \"%s\": missing or empty event id",
                      d->event_id_field);
    c->event_id = ss_strdup(v.s);
    field_get(event, d->event_time_field, &v);
    if (v.kind != FV_NUM || !isfinite(v.num))
        return ss_err(err, errlen, "bad event: field \"%s\": missing event time",
                      d->event_time_field);
    c->event_time_ms = (int64_t)v.num;
    c->n_entities = d->n_entities;
    c->entity_ids = ss_calloc(d->n_entities, sizeof *c->entity_ids);
    for (size_t i = 0; i < d->n_entities; i++) {
        field_get(event, d->entities[i].field, &v);
        if ((v.kind == FV_STR || v.kind == FV_NUM) && v.s[0])
            c->entity_ids[i] = ss_strdup(v.s);
        else if (v.kind == FV_MISSING && (int)i == d->primary)
            return ss_err(err, errlen, "bad event: field \"%s\": no such field",
                          d->entities[i].field);
    }
    if (!c->entity_ids[d->primary])
        return ss_err(err, errlen, "bad event: field \"%s\": primary entity id is null or empty",
                      d->entities[d->primary].field);
    c->n_categories = d->n_categories;
    c->category_values = ss_calloc(d->n_categories + 1, sizeof *c->category_values);
    for (size_t i = 0; i < d->n_categories; i++) {
        field_get(event, d->categories[i], &v);
        if (v.kind == FV_STR || v.kind == FV_NUM) c->category_values[i] = ss_strdup(v.s);
    }
    return 0;
}

int fd_call_build(fd_call *c, const ss_feature_defs *d, const ss_features_opts *opts,
                  avro_value_t *event, int peek, int64_t now_ms, char *err, size_t errlen)
{
    ss_features_opts o;
    ss_buf key;
    fv v;
    call_reset(c);
    c->peek = peek;
    fd_opts_defaults(&o, opts, d);
    if (event_identity(c, d, event, err, errlen) < 0) return -1;
    ss_buf_init(&key);
    /* vectors of other definitions (another script) have other keys: a
     * redelivery after a definitions change never reads a foreign vector */
    ss_buf_printf(&key, "%sd:%s:%s", o.prefix, d->tag, c->event_id);
    arg(c, key.data, key.len); /* KEYS[1]: dedup key */
    ss_buf_free(&key);
    arg_str(c, peek ? "p" : "u");
    arg_str(c, c->event_id);
    arg_int(c, c->event_time_ms);
    arg_int(c, now_ms);
    arg_str(c, o.prefix);
    arg_int(c, o.dedup_ttl_ms);
    arg_str(c, o.write_online ? "1" : "0");
    arg_int(c, o.online_ttl_ms);
    arg_int(c, o.seen_ttl_ms);
    for (size_t i = 0; i < d->n_entities; i++)
        arg_str(c, c->entity_ids[i] ? c->entity_ids[i] : "");
    for (size_t i = 0; i < d->n_filters; i++)
        arg_str(c, filter_match(&d->filters[i], event) ? "1" : "0");
    for (size_t i = 0; i < d->n_num_inputs; i++) {
        field_get(event, d->num_inputs[i], &v);
        /* non-finite numbers are treated as null: they would poison every window */
        arg_str(c, v.kind == FV_NUM && isfinite(v.num) ? v.buf : "");
    }
    for (size_t i = 0; i < d->n_str_inputs; i++) {
        field_get(event, d->str_inputs[i], &v);
        if (v.kind == FV_STR || v.kind == FV_NUM) {
            size_t n = strlen(v.s);
            char *tmp = ss_malloc(n + 2);
            tmp[0] = '=';
            memcpy(tmp + 1, v.s, n + 1);
            arg(c, tmp, n + 1);
            ss_free(tmp);
        } else {
            arg_str(c, "");
        }
    }
    return 0;
}

void fd_call_argv(fd_call *c, const char ***argv, const size_t **argvlen)
{
    for (size_t i = 0; i < c->argc; i++)
        c->argv[i] = c->strings.data + c->off[i];
    *argv = c->argv;
    *argvlen = c->len;
}

/* ------------------------------------------------------------ reply */

static int parse_values(double *values, size_t n, const char *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        char *end = NULL;
        if (*p == ',' || *p == '\0') {
            values[i] = NAN;
            end = (char *)p;
        } else {
            errno = 0;
            values[i] = strtod(p, &end);
            if (end == p || errno == ERANGE)
                return ss_err(err, errlen, "bad script reply: value %zu: \"%.20s\"", i, p);
        }
        p = end;
        if (i + 1 < n) {
            if (*p != ',')
                return ss_err(err, errlen, "bad script reply: %zu values, expected %zu", i + 1, n);
            p++;
        }
    }
    if (*p != '\0') return ss_err(err, errlen, "bad script reply: more than %zu values", n);
    return 0;
}

int fd_result_from_reply(fd_result *res, const ss_feature_defs *d, const fd_call *c,
                         const redisReply *reply, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (!reply) return ss_err(err, errlen, "redis: no reply");
    if (reply->type == REDIS_REPLY_ERROR)
        return ss_err(err, errlen, "redis: feature script failed: %s", reply->str);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return ss_err(err, errlen, "bad script reply: unexpected shape (type %d)", reply->type);
    const char *blob = reply->element[1]->str;
    char *end = NULL;
    if ((blob[0] != '0' && blob[0] != '1') || blob[1] != '|')
        return ss_err(err, errlen, "bad script reply: \"%.20s\"", blob);
    long long computed = strtoll(blob + 2, &end, 10);
    if (*end != '|') return ss_err(err, errlen, "bad script reply: \"%.30s\"", blob);
    res->values = ss_calloc(d->n_features + 1, sizeof *res->values);
    if (parse_values(res->values, d->n_features, end + 1, err, errlen) < 0) {
        ss_free(res->values);
        res->values = NULL;
        return -1;
    }
    ss_feature_vector *v = &res->v;
    v->event_id = c->event_id;
    v->event_time_ms = c->event_time_ms;
    v->entity_id = c->entity_ids[d->primary];
    v->n_entities = d->n_entities;
    v->entity_names = (const char *const *)d->entity_names;
    v->entity_ids = (const char *const *)c->entity_ids;
    v->n = d->n_features;
    v->names = (const char *const *)d->names;
    v->values = res->values;
    v->n_categories = d->n_categories;
    v->category_names = (const char *const *)d->categories;
    v->category_values = (const char *const *)c->category_values;
    v->definitions_version = d->version;
    v->late = blob[0] == '1';
    v->duplicate = reply->element[0]->integer == 1;
    v->computed_at_ms = computed;
    return 0;
}

void fd_result_free(fd_result *res)
{
    ss_free(res->values);
    memset(res, 0, sizeof *res);
}
