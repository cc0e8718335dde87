/* model.c - prediction, reasons and decisions over a loaded bundle. */
#include "model-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const char *ss_model_name(const ss_model *m)
{
    return m->name;
}
const char *ss_model_version(const ss_model *m)
{
    return m->version;
}
const char *ss_model_kind(const ss_model *m)
{
    return m->kind;
}
const char *ss_model_objective(const ss_model *m)
{
    return m->objective;
}
size_t ss_model_nfeatures(const ss_model *m)
{
    return m->nfeatures;
}
size_t ss_model_ntrees(const ss_model *m)
{
    return m->ntrees;
}
int ss_model_top_k(const ss_model *m)
{
    return m->top_k;
}
double ss_model_threshold_review(const ss_model *m)
{
    return m->review;
}
double ss_model_threshold_decline(const ss_model *m)
{
    return m->decline;
}

const char *ss_model_feature(const ss_model *m, size_t i)
{
    return i < m->nfeatures ? m->features[i] : NULL;
}

int ss_model_feature_index(const ss_model *m, const char *name)
{
    for (size_t i = 0; i < m->nfeatures; i++)
        if (strcmp(m->features[i], name) == 0) return (int)i;
    return -1;
}

/* XGBoost's PredTransform, in float as it does it. */
static float link_f(ss_link link, float margin)
{
    switch (link) {
    case SS_LINK_SIGMOID:
        return 1.0f / (1.0f + expf(-margin));
    case SS_LINK_EXP:
        return expf(margin);
    default:
        return margin;
    }
}

/* Missing inputs of a logistic model contribute nothing: they sit at the
 * center (the training mean when the bundle gives one). */
static double logistic_margin(const ss_model *m, const double *x)
{
    double z = m->intercept;
    for (size_t i = 0; i < m->nfeatures; i++)
        if (!isnan(x[i]))
            z += m->weights[i] * x[i];
        else
            z += m->weights[i] * m->center[i];
    return z;
}

#define SMALL_ROW 256

/* Run fn on x converted to float (XGBoost casts every input to float). */
static float tree_margin_d(const ss_model *m, const double *x)
{
    float small[SMALL_ROW] = {0};
    float *xf = m->nfeatures <= SMALL_ROW ? small : ss_malloc(m->nfeatures * sizeof *xf);
    for (size_t i = 0; i < m->nfeatures; i++)
        xf[i] = (float)x[i];
    float r = ss_tree_margin_f(m, xf);
    if (xf != small) ss_free(xf);
    return r;
}

double ss_model_margin(const ss_model *m, const double *x)
{
    return m->is_tree ? tree_margin_d(m, x) : logistic_margin(m, x);
}

double ss_model_predict(const ss_model *m, const double *x)
{
    if (m->is_tree) return link_f(m->link, tree_margin_d(m, x));
    return 1.0 / (1.0 + exp(-logistic_margin(m, x)));
}

double ss_model_predict_f(const ss_model *m, const float *x)
{
    if (m->is_tree) return link_f(m->link, ss_tree_margin_f(m, x));
    double small[SMALL_ROW] = {0};
    double *xd = m->nfeatures <= SMALL_ROW ? small : ss_malloc(m->nfeatures * sizeof *xd);
    for (size_t i = 0; i < m->nfeatures; i++)
        xd[i] = x[i];
    double r = ss_model_predict(m, xd);
    if (xd != small) ss_free(xd);
    return r;
}

void ss_model_predict_rows(const ss_model *m, const double *x, size_t nrows, double *out)
{
    for (size_t r = 0; r < nrows; r++)
        out[r] = ss_model_predict(m, x + r * m->nfeatures);
}

void ss_model_contributions(const ss_model *m, const double *x, double *phi)
{
    size_t n = m->nfeatures;
    if (!m->is_tree) {
        double bias = m->intercept;
        for (size_t i = 0; i < n; i++) {
            bias += m->weights[i] * m->center[i];
            phi[i] = isnan(x[i]) ? 0.0 : m->weights[i] * (x[i] - m->center[i]);
        }
        phi[n] = bias;
        return;
    }
    float small[SMALL_ROW] = {0};
    float *xf = n <= SMALL_ROW ? small : ss_malloc(n * sizeof *xf);
    for (size_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    if (m->shap)
        ss_shap_contributions(m, xf, phi);
    else
        ss_tree_contributions(m, xf, phi);
    if (xf != small) ss_free(xf);
}

int ss_model_shap_tables(const ss_model *m)
{
    return m->shap != NULL;
}

int ss_model_use_shap_tables(ss_model *m, int on)
{
    if (!m->is_tree) return 0;
    if (!on) {
        ss_shap_free(m->shap);
        m->shap = NULL;
    } else if (!m->shap) {
        ss_shap_build(m);
    }
    return m->shap != NULL;
}

size_t ss_model_top_reasons(const ss_model *m, const double *x, const double *phi, ss_reason *out,
                            size_t k)
{
    size_t count = 0;
    for (size_t i = 0; i < m->nfeatures; i++) {
        double a = fabs(phi[i]);
        if (a == 0 || isnan(a)) continue;
        /* insertion into the sorted top-k: larger |c| first, then lower index */
        size_t pos = count;
        while (pos > 0 && fabs(out[pos - 1].contribution) < a)
            pos--;
        if (pos >= k) continue;
        size_t last = count < k ? count : k - 1;
        memmove(&out[pos + 1], &out[pos], (last - pos) * sizeof *out);
        out[pos].feature = (int)i;
        out[pos].value = x[i];
        out[pos].contribution = phi[i];
        if (count < k) count++;
    }
    return count;
}

ss_decision ss_model_decide(const ss_model *m, double score)
{
    if (isnan(score)) return SS_DECISION_REVIEW;
    if (score >= m->decline) return SS_DECISION_DECLINE;
    if (score >= m->review) return SS_DECISION_REVIEW;
    return SS_DECISION_APPROVE;
}

const char *ss_decision_name(ss_decision d)
{
    switch (d) {
    case SS_DECISION_APPROVE:
        return "APPROVE";
    case SS_DECISION_REVIEW:
        return "REVIEW";
    case SS_DECISION_DECLINE:
        return "DECLINE";
    }
    return "REVIEW";
}
