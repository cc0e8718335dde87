/* model.h - model bundles (docs/model-bundle.md): loading, validation,
 * prediction, reason codes and decisions.
 *
 * Two kinds of bundle:
 *  - "xgboost": an XGBoost JSON model (Booster.save_model("model.json"),
 *    gbtree, one output). Trees are flattened into one contiguous node array;
 *    evaluation follows XGBoost 1.7 exactly: inputs are cast to float, a split
 *    sends `value < threshold` left, a missing (NaN) value follows the split's
 *    default direction, leaf values are summed in float in tree order on top
 *    of base_score turned into a margin by the objective, and the objective's
 *    transform (sigmoid, exp, identity) gives the score.
 *  - "logistic": margin = intercept + sum(w_i * x_i), score = sigmoid(margin).
 *
 * Reason codes are contributions to the margin: exact path-dependent TreeSHAP
 * (XGBoost's pred_contribs, using node covers) for trees, w_i * (x_i - c_i)
 * for logistic (c_i from the bundle's "center", default 0). Contributions plus
 * the bias always sum to the margin.
 *
 * A loaded ss_model is immutable: any number of readers may use it at once.
 */
#ifndef SS_MODEL_MODEL_H
#define SS_MODEL_MODEL_H

#include <stddef.h>

typedef struct ss_model ss_model;

typedef enum {
    SS_DECISION_APPROVE = 0,
    SS_DECISION_REVIEW = 1,
    SS_DECISION_DECLINE = 2,
} ss_decision; /* same order as the Decision enum of schemas/score.avsc */

typedef struct ss_reason {
    int feature;         /* index into the bundle's features */
    double value;        /* the input value (NaN = missing) */
    double contribution; /* contribution to the margin */
} ss_reason;

#define SS_MODEL_FORMAT "streamscore.bundle/v1"

/** Load and validate the bundle in directory `dir` (bundle.json + model file).
 * Returns NULL with err set, e.g.
 * "bad bundle models/card-fraud/3: model.json: unsupported objective \"multi:softprob\"".
 * Caller owns the result (ss_model_free). */
ss_model *ss_model_load(const char *dir, char *err, size_t errlen);
/** Load <store>/<name>/<version>/ and check that the manifest's name and
 * version match the ones asked for. */
ss_model *ss_model_load_store(const char *store, const char *name, const char *version, char *err,
                              size_t errlen);
void ss_model_free(ss_model *m);

const char *ss_model_name(const ss_model *m);
const char *ss_model_version(const ss_model *m);
const char *ss_model_kind(const ss_model *m);      /* "xgboost" | "logistic" */
const char *ss_model_objective(const ss_model *m); /* e.g. "binary:logistic" */
size_t ss_model_nfeatures(const ss_model *m);
const char *ss_model_feature(const ss_model *m, size_t i);       /* borrowed */
int ss_model_feature_index(const ss_model *m, const char *name); /* -1 if absent */
size_t ss_model_ntrees(const ss_model *m);                       /* 0 for logistic */
int ss_model_top_k(const ss_model *m);                           /* the bundle's top_reasons */
double ss_model_threshold_review(const ss_model *m);
double ss_model_threshold_decline(const ss_model *m);

/** x: ss_model_nfeatures() values in the bundle's order, NaN = missing. */
double ss_model_margin(const ss_model *m, const double *x);
double ss_model_predict(const ss_model *m, const double *x);
/** Same for `nrows` rows of a row-major matrix into out[nrows]. */
void ss_model_predict_rows(const ss_model *m, const double *x, size_t nrows, double *out);
/** Float input variant (the hot path of benchmarks): x already as float. */
double ss_model_predict_f(const ss_model *m, const float *x);

/** Contributions to the margin: phi[0..n-1] per feature, phi[n] = bias
 * (expected margin). phi must hold nfeatures + 1 doubles. */
void ss_model_contributions(const ss_model *m, const double *x, double *phi);

/** TreeSHAP algorithm for tree bundles. By default a bundle whose trees fit
 * (path tables, at most 2^24 entries, 64 MiB, in all) uses leaf tables: the same values
 * as XGBoost's recursive algorithm in O(nodes + leaves x depth) per row; the
 * others use the recursive algorithm itself. use_shap_tables(m, 0) forces the
 * recursive one (tests, benchmarks); call it before sharing m. Both return
 * whether tables are in use. */
int ss_model_shap_tables(const ss_model *m);
int ss_model_use_shap_tables(ss_model *m, int on);

/** Up to k reasons by |contribution|, largest first, ties by feature index;
 * features with a zero contribution are skipped. Returns the count. */
size_t ss_model_top_reasons(const ss_model *m, const double *x, const double *phi, ss_reason *out,
                            size_t k);

/** score >= decline -> DECLINE, >= review -> REVIEW, else APPROVE. NaN -> REVIEW. */
ss_decision ss_model_decide(const ss_model *m, double score);
const char *ss_decision_name(ss_decision d);

#endif
