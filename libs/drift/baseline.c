/* baseline.c - the baseline part of bundle.json (jansson). */
#include "drift/baseline.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "drift/window.h"

#define BASELINE_MAX_BINS 4096     /* sanity bound on histogram bins */
#define BASELINE_MAX_SAMPLE 100000 /* sanity bound on the reference sample */
#define BASELINE_MAX_CATS 65536    /* sanity bound on categories */

static int number_of(json_t *v, double *out)
{
    if (!json_is_number(v)) return -1;
    *out = json_number_value(v);
    return isfinite(*out) ? 0 : -1;
}

/* optional number member; missing or null keeps *out */
static int opt_number(json_t *obj, const char *key, double *out, const char *path, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (number_of(v, out) < 0)
        return ss_err(err, errlen, "bad bundle: %s.%s: expected a number", path, key);
    return 0;
}

static int number_array(json_t *arr, double **out, size_t *n, size_t max, const char *what,
                        char *err, size_t errlen)
{
    if (!json_is_array(arr)) return ss_err(err, errlen, "bad bundle: %s: expected an array", what);
    size_t len = json_array_size(arr);
    if (len > max)
        return ss_err(err, errlen, "bad bundle: %s: %zu values, at most %zu allowed", what, len,
                      max);
    double *vals = ss_malloc((len ? len : 1) * sizeof *vals);
    for (size_t i = 0; i < len; i++) {
        if (number_of(json_array_get(arr, i), &vals[i]) < 0) {
            ss_free(vals);
            return ss_err(err, errlen, "bad bundle: %s[%zu]: expected a finite number", what, i);
        }
    }
    *out = vals;
    *n = len;
    return 0;
}

static int parse_numeric(ss_drift_feature_baseline *f, json_t *obj, const char *path, char *err,
                         size_t errlen)
{
    size_t nedges = 0, nfreqs = 0;
    char what[512];
    snprintf(what, sizeof what, "%s.edges", path);
    if (number_array(json_object_get(obj, "edges"), &f->edges, &nedges, BASELINE_MAX_BINS + 1, what,
                     err, errlen) < 0)
        return -1;
    snprintf(what, sizeof what, "%s.freqs", path);
    if (number_array(json_object_get(obj, "freqs"), &f->freqs, &nfreqs, BASELINE_MAX_BINS, what,
                     err, errlen) < 0)
        return -1;
    if (nedges == 0 && nfreqs == 0) { /* all null in training: null rate only */
        f->mean = f->std = f->min = f->max = 0;
        if (opt_number(obj, "min", &f->min, path, err, errlen) < 0 ||
            opt_number(obj, "max", &f->max, path, err, errlen) < 0)
            return -1;
        return 0;
    }
    if (nedges < 2 || nfreqs != nedges - 1)
        return ss_err(err, errlen, "bad bundle: %s: %zu edges need %zu freqs, got %zu", path,
                      nedges, nedges ? nedges - 1 : 0, nfreqs);
    f->nbins = nfreqs;
    double total = 0;
    for (size_t i = 0; i < nedges; i++)
        if (i > 0 && f->edges[i] < f->edges[i - 1])
            return ss_err(err, errlen, "bad bundle: %s.edges[%zu]: %g is below the previous edge",
                          path, i, f->edges[i]);
    for (size_t i = 0; i < nfreqs; i++) {
        if (f->freqs[i] < 0)
            return ss_err(err, errlen, "bad bundle: %s.freqs[%zu]: negative", path, i);
        total += f->freqs[i];
    }
    if (!(total > 0)) return ss_err(err, errlen, "bad bundle: %s.freqs: sum to zero", path);
    for (size_t i = 0; i < nfreqs; i++)
        f->freqs[i] /= total;
    f->min = f->edges[0];
    f->max = f->edges[nedges - 1];
    f->std = NAN;
    f->mean = NAN;
    if (opt_number(obj, "mean", &f->mean, path, err, errlen) < 0 ||
        opt_number(obj, "std", &f->std, path, err, errlen) < 0 ||
        opt_number(obj, "min", &f->min, path, err, errlen) < 0 ||
        opt_number(obj, "max", &f->max, path, err, errlen) < 0)
        return -1;
    json_t *sample = json_object_get(obj, "sample");
    if (sample && !json_is_null(sample)) {
        snprintf(what, sizeof what, "%s.sample", path);
        if (number_array(sample, &f->sample, &f->nsample, BASELINE_MAX_SAMPLE, what, err, errlen) <
            0)
            return -1;
    }
    return 0;
}

static int parse_categorical(ss_drift_feature_baseline *f, json_t *obj, const char *path, char *err,
                             size_t errlen)
{
    json_t *freqs = json_object_get(obj, "freqs");
    if (!json_is_object(freqs))
        return ss_err(err, errlen, "bad bundle: %s.freqs: expected an object", path);
    size_t n = json_object_size(freqs);
    if (n > BASELINE_MAX_CATS)
        return ss_err(err, errlen, "bad bundle: %s.freqs: %zu categories, at most %d allowed", path,
                      n, BASELINE_MAX_CATS);
    f->cats = ss_calloc(n ? n : 1, sizeof *f->cats);
    f->cat_freqs = ss_calloc(n ? n : 1, sizeof *f->cat_freqs);
    if (n == 0) return 0; /* all null in training */
    const char *key;
    json_t *v;
    double total = 0;
    json_object_foreach(freqs, key, v)
    {
        double x;
        if (number_of(v, &x) < 0 || x < 0)
            return ss_err(err, errlen, "bad bundle: %s.freqs.%s: expected a non-negative number",
                          path, key);
        f->cats[f->ncats] = ss_strdup(key);
        f->cat_freqs[f->ncats++] = x;
        total += x;
    }
    if (!(total > 0)) return ss_err(err, errlen, "bad bundle: %s.freqs: sum to zero", path);
    for (size_t i = 0; i < f->ncats; i++)
        f->cat_freqs[i] /= total;
    return 0;
}

static int parse_feature(ss_drift_feature_baseline *f, const char *name, json_t *obj,
                         const char *path, char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return ss_err(err, errlen, "bad bundle: %s: expected an object", path);
    f->name = ss_strdup(name);
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!type)
        return ss_err(err, errlen, "bad bundle: %s.type: expected \"numeric\" or \"categorical\"",
                      path);
    f->null_rate = 0;
    if (opt_number(obj, "null_rate", &f->null_rate, path, err, errlen) < 0) return -1;
    if (!strcmp(type, "numeric")) {
        f->kind = SS_DRIFT_NUMERIC;
        return parse_numeric(f, obj, path, err, errlen);
    }
    if (!strcmp(type, "categorical")) {
        f->kind = SS_DRIFT_CATEGORICAL;
        return parse_categorical(f, obj, path, err, errlen);
    }
    return ss_err(err, errlen,
                  "bad bundle: %s.type: expected \"numeric\" or \"categorical\", got \"%s\"", path,
                  type);
}

static int parse_thresholds(ss_drift_baseline *b, json_t *root, char *err, size_t errlen)
{
    json_t *t = json_object_get(root, "thresholds");
    if (!json_is_object(t))
        return ss_err(err, errlen, "bad bundle: thresholds: expected an object");
    if (number_of(json_object_get(t, "review"), &b->threshold_review) < 0)
        return ss_err(err, errlen, "bad bundle: thresholds.review: expected a number");
    if (number_of(json_object_get(t, "decline"), &b->threshold_decline) < 0)
        return ss_err(err, errlen, "bad bundle: thresholds.decline: expected a number");
    return 0;
}

static int parse_root(ss_drift_baseline *b, json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root)) return ss_err(err, errlen, "bad bundle: expected a JSON object");
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *version = json_string_value(json_object_get(root, "version"));
    if (!name || !*name)
        return ss_err(err, errlen, "bad bundle: name: expected a non-empty string");
    if (!version || !*version)
        return ss_err(err, errlen, "bad bundle: version: expected a non-empty string");
    b->model_name = ss_strdup(name);
    b->version = ss_strdup(version);
    if (parse_thresholds(b, root, err, errlen) < 0) return -1;
    json_t *base = json_object_get(root, "baseline");
    if (!json_is_object(base))
        return ss_err(err, errlen, "bad bundle: baseline: expected an object");
    json_t *rows = json_object_get(base, "rows");
    if (json_is_integer(rows) && json_integer_value(rows) > 0)
        b->rows = (size_t)json_integer_value(rows);
    json_t *features = json_object_get(base, "features");
    if (!json_is_object(features))
        return ss_err(err, errlen, "bad bundle: baseline.features: expected an object");
    size_t n = json_object_size(features);
    b->features = ss_calloc(n ? n : 1, sizeof *b->features);
    const char *key;
    json_t *v;
    char path[512];
    json_object_foreach(features, key, v)
    {
        snprintf(path, sizeof path, "baseline.features.%s", key);
        if (parse_feature(&b->features[b->nfeatures++], key, v, path, err, errlen) < 0) return -1;
    }
    json_t *score = json_object_get(base, "score");
    if (score && !json_is_null(score)) {
        if (parse_feature(&b->score, "__score__", score, "baseline.score", err, errlen) < 0)
            return -1;
        if (b->score.kind != SS_DRIFT_NUMERIC)
            return ss_err(err, errlen, "bad bundle: baseline.score: must be numeric");
        b->has_score = 1;
    }
    return 0;
}

int ss_drift_baseline_parse(const char *json, size_t len, ss_drift_baseline **out, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) return ss_err(err, errlen, "bad bundle: line %d: %s", jerr.line, jerr.text);
    ss_drift_baseline *b = ss_calloc(1, sizeof *b);
    int rc = parse_root(b, root, err, errlen);
    json_decref(root);
    if (rc < 0) {
        ss_drift_baseline_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

int ss_drift_baseline_load(const char *path, ss_drift_baseline **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ss_err(err, errlen, "cannot open bundle %s: %s", path, strerror(errno));
    ss_buf buf;
    ss_buf_init(&buf);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ss_buf_append(&buf, chunk, n);
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? ss_err(err, errlen, "cannot read bundle %s", path)
                 : ss_drift_baseline_parse(buf.data, buf.len, out, err, errlen);
    ss_buf_free(&buf);
    return rc;
}

void ss_drift_feature_baseline_clear(ss_drift_feature_baseline *f)
{
    ss_free(f->name);
    ss_free(f->edges);
    ss_free(f->freqs);
    ss_free(f->sample);
    for (size_t i = 0; i < f->ncats; i++)
        ss_free(f->cats[i]);
    ss_free(f->cats);
    ss_free(f->cat_freqs);
    memset(f, 0, sizeof *f);
}

void ss_drift_baseline_free(ss_drift_baseline *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nfeatures; i++)
        ss_drift_feature_baseline_clear(&b->features[i]);
    ss_free(b->features);
    ss_drift_feature_baseline_clear(&b->score);
    ss_free(b->model_name);
    ss_free(b->version);
    ss_free(b);
}

int ss_drift_baseline_find(const ss_drift_baseline *b, const char *name)
{
    for (size_t i = 0; i < b->nfeatures; i++)
        if (!strcmp(b->features[i].name, name)) return (int)i;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.quantile(method='linear') on sorted values */
static double quantile_sorted(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

void ss_drift_baseline_numeric_from(ss_drift_feature_baseline *f, const char *name,
                                    const double *values, size_t n, size_t nbins, size_t sample_max)
{
    ss_assert(nbins > 0);
    double *v = ss_malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(values[i])) {
            v[k++] = values[i];
            sum += values[i];
        }
    ss_assert(k > 1);
    qsort(v, k, sizeof *v, cmp_double);
    f->name = ss_strdup(name);
    f->kind = SS_DRIFT_NUMERIC;
    f->null_rate = (double)(n - k) / (double)n;
    f->mean = sum / (double)k;
    for (size_t i = 0; i < k; i++)
        sumsq += (v[i] - f->mean) * (v[i] - f->mean);
    f->std = sqrt(sumsq / (double)k);
    f->min = v[0];
    f->max = v[k - 1];
    f->nbins = nbins;
    f->edges = ss_malloc((nbins + 1) * sizeof *f->edges);
    f->freqs = ss_calloc(nbins, sizeof *f->freqs);
    for (size_t b = 0; b <= nbins; b++)
        f->edges[b] = quantile_sorted(v, k, (double)b / (double)nbins);
    for (size_t i = 0; i < k; i++)
        f->freqs[ss_drift_bin_of(f->edges, nbins, v[i])] += 1.0 / (double)k;
    f->nsample = k < sample_max ? k : sample_max;
    f->sample = ss_malloc((f->nsample ? f->nsample : 1) * sizeof *f->sample);
    for (size_t i = 0; i < f->nsample; i++)
        f->sample[i] = v[(size_t)((double)i * (double)k / (double)f->nsample)];
    ss_free(v);
}

void ss_drift_baseline_categorical_from(ss_drift_feature_baseline *f, const char *name,
                                        const char *const *cats, const double *freqs, size_t ncats)
{
    f->name = ss_strdup(name);
    f->kind = SS_DRIFT_CATEGORICAL;
    f->ncats = ncats;
    f->cats = ss_calloc(ncats, sizeof *f->cats);
    f->cat_freqs = ss_calloc(ncats, sizeof *f->cat_freqs);
    double total = 0;
    for (size_t i = 0; i < ncats; i++)
        total += freqs[i];
    for (size_t i = 0; i < ncats; i++) {
        f->cats[i] = ss_strdup(cats[i]);
        f->cat_freqs[i] = freqs[i] / total;
    }
}
