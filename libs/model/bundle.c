/* bundle.c - bundle.json manifest: parse, validate, build the model. */
#include "model-internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"
#include "common/util.h"


void ss_model_free(ss_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nfeatures; i++)
        ss_free(m->features[i]);
    ss_free(m->features);
    ss_free(m->dir);
    ss_free(m->name);
    ss_free(m->version);
    ss_free(m->kind);
    ss_free(m->objective);
    ss_free(m->nodes);
    ss_free(m->cover);
    ss_free(m->mean);
    ss_free(m->roots);
    ss_shap_free(m->shap);
    ss_free(m->weights);
    ss_free(m->center);
    ss_free(m);
}

static int req_string(json_t *o, const char *key, char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v) return ss_err(err, errlen, "bundle.json: missing \"%s\"", key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return ss_err(err, errlen, "bundle.json: \"%s\": expected non-empty string, got %s", key,
                      ss_json_type_name(v));
    *out = ss_strdup(json_string_value(v));
    return 0;
}

static int req_finite(json_t *v, const char *what, double *out, char *err, size_t errlen)
{
    if (!json_is_number(v))
        return ss_err(err, errlen, "bundle.json: %s: expected number, got %s", what,
                      ss_json_type_name(v));
    *out = json_number_value(v);
    if (!isfinite(*out)) return ss_err(err, errlen, "bundle.json: %s: not finite", what);
    return 0;
}

static int load_features(ss_model *m, json_t *man, char *err, size_t errlen)
{
    json_t *fs = json_object_get(man, "features");
    if (!json_is_array(fs) || json_array_size(fs) == 0)
        return ss_err(err, errlen, "bundle.json: \"features\": expected a non-empty array, got %s",
                      ss_json_type_name(fs));
    m->features = ss_calloc(json_array_size(fs), sizeof *m->features);
    for (size_t i = 0; i < json_array_size(fs); i++) {
        const char *s = json_string_value(json_array_get(fs, i));
        if (!s || !*s)
            return ss_err(err, errlen, "bundle.json: \"features\"[%zu]: expected a name", i);
        if (ss_model_feature_index(m, s) >= 0)
            return ss_err(err, errlen, "bundle.json: \"features\": duplicate name \"%s\"", s);
        m->features[m->nfeatures++] = ss_strdup(s);
    }
    return 0;
}

static int load_thresholds(ss_model *m, json_t *man, char *err, size_t errlen)
{
    json_t *th = json_object_get(man, "thresholds");
    if (!json_is_object(th))
        return ss_err(err, errlen, "bundle.json: \"thresholds\": expected object, got %s",
                      ss_json_type_name(th));
    if (req_finite(json_object_get(th, "review"), "thresholds.review", &m->review, err, errlen) <
            0 ||
        req_finite(json_object_get(th, "decline"), "thresholds.decline", &m->decline, err, errlen) <
            0)
        return -1;
    if (m->review > m->decline)
        return ss_err(err, errlen, "bundle.json: thresholds.review %g above thresholds.decline %g",
                      m->review, m->decline);
    json_t *k = json_object_get(man, "top_reasons");
    m->top_k = 3;
    if (k) {
        if (!json_is_integer(k) || json_integer_value(k) < 0 || json_integer_value(k) > 1000)
            return ss_err(err, errlen, "bundle.json: \"top_reasons\": expected integer 0..1000");
        m->top_k = (int)json_integer_value(k);
    }
    return 0;
}

static int load_vector(json_t *a, size_t n, const char *what, double **out, char *err,
                       size_t errlen)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return ss_err(err, errlen,
                      "bundle.json: %s: expected an array of %zu numbers (one per feature), got %s"
                      " of %zu",
                      what, n, ss_json_type_name(a), json_array_size(a));
    *out = ss_calloc(n, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        if (req_finite(json_array_get(a, i), w, &(*out)[i], err, errlen) < 0) return -1;
    }
    return 0;
}

static int load_logistic(ss_model *m, json_t *man, char *err, size_t errlen)
{
    json_t *lr = json_object_get(man, "logistic");
    if (!json_is_object(lr))
        return ss_err(err, errlen, "bundle.json: \"logistic\": expected object, got %s",
                      ss_json_type_name(lr));
    if (req_finite(json_object_get(lr, "intercept"), "logistic.intercept", &m->intercept, err,
                   errlen) < 0 ||
        load_vector(json_object_get(lr, "weights"), m->nfeatures, "logistic.weights", &m->weights,
                    err, errlen) < 0)
        return -1;
    m->objective = ss_strdup("binary:logistic");
    json_t *center = json_object_get(lr, "center");
    if (center)
        return load_vector(center, m->nfeatures, "logistic.center", &m->center, err, errlen);
    m->center = ss_calloc(m->nfeatures, sizeof *m->center);
    return 0;
}

static int load_xgboost(ss_model *m, json_t *man, const char *dir, char *err, size_t errlen)
{
    char *file = NULL;
    if (req_string(man, "model_file", &file, err, errlen) < 0) return -1;
    if (file[0] == '/' || strstr(file, "..")) {
        ss_err(err, errlen,
               "bundle.json: \"model_file\": must be a file inside the bundle, got \"%s\"", file);
        ss_free(file);
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char sub[512];
    int rc = ss_xgb_load(m, path, sub, sizeof sub);
    if (rc < 0) ss_err(err, errlen, "%s: %s", file, sub);
    ss_free(file);
    return rc;
}

static int load_manifest(ss_model *m, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bundle.json", dir);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return ss_err(err, errlen, "no such bundle directory");
    json_error_t jerr;
    json_t *man = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!man)
        return ss_err(err, errlen, "bundle.json: invalid JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
    int rc = -1;
    if (!json_is_object(man)) {
        ss_err(err, errlen, "bundle.json: expected an object");
        goto done;
    }
    const char *format = json_string_value(json_object_get(man, "format"));
    if (!format || strcmp(format, SS_MODEL_FORMAT) != 0) {
        ss_err(err, errlen, "bundle.json: unsupported format \"%s\" (expected \"%s\")",
               format ? format : "(none)", SS_MODEL_FORMAT);
        goto done;
    }
    if (req_string(man, "name", &m->name, err, errlen) < 0 ||
        req_string(man, "version", &m->version, err, errlen) < 0 ||
        req_string(man, "kind", &m->kind, err, errlen) < 0 ||
        load_features(m, man, err, errlen) < 0 || load_thresholds(m, man, err, errlen) < 0)
        goto done;
    if (strcmp(m->kind, "xgboost") == 0) {
        m->is_tree = 1;
        rc = load_xgboost(m, man, dir, err, errlen);
    } else if (strcmp(m->kind, "logistic") == 0) {
        rc = load_logistic(m, man, err, errlen);
    } else {
        ss_err(err, errlen, "bundle.json: unsupported kind \"%s\" (xgboost or logistic)", m->kind);
    }
done:
    json_decref(man);
    return rc;
}

ss_model *ss_model_load(const char *dir, char *err, size_t errlen)
{
    ss_model *m = ss_calloc(1, sizeof *m);
    char sub[768];
    m->dir = ss_strdup(dir);
    if (load_manifest(m, dir, sub, sizeof sub) < 0) {
        ss_err(err, errlen, "bad bundle %s: %s", dir, sub);
        ss_model_free(m);
        return NULL;
    }
    return m;
}

static int valid_component(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

ss_model *ss_model_load_store(const char *store, const char *name, const char *version, char *err,
                              size_t errlen)
{
    if (!valid_component(name) || !valid_component(version)) {
        ss_err(err, errlen, "bad bundle reference: name \"%s\" version \"%s\"", name ? name : "",
               version ? version : "");
        return NULL;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/%s", store, name, version);
    ss_model *m = ss_model_load(dir, err, errlen);
    if (!m) return NULL;
    if (strcmp(m->name, name) != 0 || strcmp(m->version, version) != 0) {
        ss_err(err, errlen, "bad bundle %s: manifest says %s/%s", dir, m->name, m->version);
        ss_model_free(m);
        return NULL;
    }
    return m;
}
