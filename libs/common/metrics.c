/* metrics.c - the process-wide Prometheus registry.
 *
 * Families (one name, help and type) keep their series in creation order and
 * render in creation order, so HELP and TYPE appear once per name as the text
 * format 0.0.4 requires. Series are found through a chained hash of
 * name + labels; hot paths keep the returned pointer anyway. */
#include "common/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SS_M_COUNTER, SS_M_GAUGE, SS_M_HISTOGRAM } ss_metric_type;

typedef struct ss_family {
    char *name;
    char *help;
    ss_metric_type type;
    struct ss_metric *first, *last; /* series in creation order */
    struct ss_family *next;
} ss_family;

struct ss_metric {
    ss_family *family;
    char *labels;      /* inside of the braces, or "" */
    double value;      /* counter/gauge */
    double *bounds;    /* histogram upper bounds, ascending (+Inf implied) */
    uint64_t *buckets; /* histogram: nbounds + 1 non-cumulative counts */
    size_t nbounds;
    uint64_t count;
    double sum, min, max;
    struct ss_metric *next_in_family;
    struct ss_metric *next_in_hash;
};

#define SS_METRICS_HASH 1024 /* buckets; chains stay short for a few thousand series */

static ss_family *families_first, *families_last;
static ss_metric *series_hash[SS_METRICS_HASH];

static const double default_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                        0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                        0.5,     1,      2.5,     5,      10};

static unsigned hash_series(const char *name, const char *labels)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h & (SS_METRICS_HASH - 1);
}

static int valid_name(const char *s)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p > s && *p >= '0' && *p <= '9')) return 0;
    }
    return 1;
}

static ss_family *find_family(const char *name)
{
    for (ss_family *f = families_first; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static ss_metric *get_series(ss_metric_type type, const char *name, const char *help,
                             const char *labels, const double *bounds, size_t nbounds)
{
    if (!labels) labels = "";
    ss_assert(valid_name(name));
    unsigned h = hash_series(name, labels);
    for (ss_metric *m = series_hash[h]; m; m = m->next_in_hash) {
        if (strcmp(m->family->name, name) == 0 && strcmp(m->labels, labels) == 0) {
            ss_assert(m->family->type == type); /* one name, one type */
            return m;
        }
    }
    ss_family *f = find_family(name);
    if (!f) {
        f = ss_calloc(1, sizeof(*f));
        f->name = ss_strdup(name);
        f->help = ss_strdup(help ? help : "");
        f->type = type;
        if (families_last)
            families_last->next = f;
        else
            families_first = f;
        families_last = f;
    }
    ss_assert(f->type == type);

    ss_metric *m = ss_calloc(1, sizeof(*m));
    m->family = f;
    m->labels = ss_strdup(labels);
    m->min = INFINITY;
    m->max = -INFINITY;
    if (type == SS_M_HISTOGRAM) {
        if (!bounds) {
            bounds = default_bounds;
            nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
        }
        for (size_t i = 1; i < nbounds; i++)
            ss_assert(bounds[i] > bounds[i - 1]);
        m->nbounds = nbounds;
        m->bounds = ss_malloc(nbounds * sizeof(double));
        if (nbounds) memcpy(m->bounds, bounds, nbounds * sizeof(double));
        m->buckets = ss_calloc(nbounds + 1, sizeof(uint64_t));
    }
    if (f->last)
        f->last->next_in_family = m;
    else
        f->first = m;
    f->last = m;
    m->next_in_hash = series_hash[h];
    series_hash[h] = m;
    return m;
}

ss_metric *ss_counter(const char *name, const char *help, const char *labels)
{
    return get_series(SS_M_COUNTER, name, help, labels, NULL, 0);
}

ss_metric *ss_gauge(const char *name, const char *help, const char *labels)
{
    return get_series(SS_M_GAUGE, name, help, labels, NULL, 0);
}

ss_metric *ss_histogram(const char *name, const char *help, const char *labels,
                        const double *bounds, size_t nbounds)
{
    return get_series(SS_M_HISTOGRAM, name, help, labels, bounds, nbounds);
}

void ss_metric_inc(ss_metric *m)
{
    ss_metric_add(m, 1);
}

void ss_metric_add(ss_metric *m, double v)
{
    ss_assert(m->family->type != SS_M_HISTOGRAM);
    if (m->family->type == SS_M_COUNTER && !(v >= 0)) return; /* counters only go up */
    m->value += v;
}

void ss_metric_set(ss_metric *m, double v)
{
    ss_assert(m->family->type == SS_M_GAUGE);
    m->value = v;
}

void ss_metric_observe(ss_metric *m, double v)
{
    ss_assert(m->family->type == SS_M_HISTOGRAM);
    if (isnan(v)) return;
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++; /* le: v <= bound */
    m->buckets[i]++;
    m->count++;
    m->sum += v;
    if (v < m->min) m->min = v;
    if (v > m->max) m->max = v;
}

double ss_metric_value(const ss_metric *m)
{
    return m->family->type == SS_M_HISTOGRAM ? (double)m->count : m->value;
}

/* Linear interpolation inside the bucket holding the q-th observation, as
 * Prometheus' histogram_quantile does, but clamped to the observed min and max:
 * the first bucket does not start at 0 and the +Inf bucket ends at the max. */
double ss_metric_quantile(const ss_metric *m, double q)
{
    if (m->family->type != SS_M_HISTOGRAM || m->count == 0 || isnan(q)) return NAN;
    if (q <= 0) return m->min;
    if (q >= 1) return m->max;
    double rank = q * (double)m->count;
    uint64_t cum = 0;
    for (size_t i = 0; i <= m->nbounds; i++) {
        uint64_t c = m->buckets[i];
        if (c == 0 || (double)(cum + c) < rank) {
            cum += c;
            continue;
        }
        double lo = i == 0 ? m->min : m->bounds[i - 1];
        double hi = i == m->nbounds ? m->max : m->bounds[i];
        if (lo < m->min) lo = m->min;
        if (hi > m->max) hi = m->max;
        if (hi < lo) hi = lo;
        return lo + (hi - lo) * ((rank - (double)cum) / (double)c);
    }
    return m->max;
}

/* ------------------------------------------------------------------ render */

/* Shortest text that reads back as the same double; Go's ParseFloat (which
 * Prometheus uses) accepts it, and NaN / +Inf / -Inf are spelled its way. */
static void format_value(char *out, size_t n, double v)
{
    if (isnan(v))
        snprintf(out, n, "NaN");
    else if (isinf(v))
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    else {
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(out, n, "%.*g", prec, v);
            if (strtod(out, NULL) == v) return;
        }
    }
}

static void append_escaped(ss_buf *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            ss_buf_append(out, "\\\\", 2);
        else if (*s == '\n')
            ss_buf_append(out, "\\n", 2);
        else if (quote && *s == '"')
            ss_buf_append(out, "\\\"", 2);
        else
            ss_buf_append(out, s, 1);
    }
}

static void render_sample(ss_buf *out, const char *name, const char *suffix, const char *labels,
                          const char *extra_label, double v)
{
    char num[64];
    format_value(num, sizeof(num), v);
    ss_buf_printf(out, "%s%s", name, suffix);
    int has = labels && *labels;
    if (has || extra_label) {
        ss_buf_append(out, "{", 1);
        if (has) ss_buf_append(out, labels, strlen(labels));
        if (has && extra_label) ss_buf_append(out, ",", 1);
        if (extra_label) ss_buf_append(out, extra_label, strlen(extra_label));
        ss_buf_append(out, "}", 1);
    }
    ss_buf_printf(out, " %s\n", num);
}

static void render_histogram(ss_buf *out, const ss_metric *m)
{
    const char *name = m->family->name;
    char le[96], num[64];
    uint64_t cum = 0;
    for (size_t i = 0; i <= m->nbounds; i++) {
        cum += m->buckets[i];
        if (i < m->nbounds)
            format_value(num, sizeof(num), m->bounds[i]);
        else
            snprintf(num, sizeof(num), "+Inf");
        snprintf(le, sizeof(le), "le=\"%s\"", num);
        render_sample(out, name, "_bucket", m->labels, le, (double)cum);
    }
    render_sample(out, name, "_sum", m->labels, NULL, m->sum);
    render_sample(out, name, "_count", m->labels, NULL, (double)m->count);
}

void ss_metrics_render(ss_buf *out)
{
    static const char *type_names[] = {"counter", "gauge", "histogram"};
    for (const ss_family *f = families_first; f; f = f->next) {
        ss_buf_printf(out, "# HELP %s ", f->name);
        append_escaped(out, f->help, 0);
        ss_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        for (const ss_metric *m = f->first; m; m = m->next_in_family) {
            if (f->type == SS_M_HISTOGRAM)
                render_histogram(out, m);
            else
                render_sample(out, f->name, "", m->labels, NULL, m->value);
        }
    }
}

size_t ss_metric_labels(char *out, size_t outlen, ...)
{
    ss_buf b;
    va_list ap;
    ss_buf_init(&b);
    va_start(ap, outlen);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (b.len) ss_buf_append(&b, ",", 1);
        ss_buf_printf(&b, "%s=\"", k);
        append_escaped(&b, v ? v : "", 1);
        ss_buf_append(&b, "\"", 1);
    }
    va_end(ap);
    size_t n = b.len;
    if (outlen) ss_strlcpy(out, b.data ? b.data : "", outlen);
    ss_buf_free(&b);
    return n;
}

void ss_metrics_reset(void)
{
    ss_family *f = families_first;
    while (f) {
        ss_metric *m = f->first;
        while (m) {
            ss_metric *next = m->next_in_family;
            ss_free(m->labels);
            ss_free(m->bounds);
            ss_free(m->buckets);
            ss_free(m);
            m = next;
        }
        ss_family *next = f->next;
        ss_free(f->name);
        ss_free(f->help);
        ss_free(f);
        f = next;
    }
    families_first = families_last = NULL;
    memset(series_hash, 0, sizeof(series_hash));
}
