/* baseline.h - the training baseline of a model bundle (docs/model-bundle.md,
 * "baseline" of bundle.json): per-feature histograms on quantile edges,
 * category frequencies, a reference sample, and the score's baseline. Only the
 * parts drift monitoring needs are read; the model itself is libs/model's. */
#ifndef SS_DRIFT_BASELINE_H
#define SS_DRIFT_BASELINE_H

#include <stddef.h>

typedef enum { SS_DRIFT_NUMERIC = 0, SS_DRIFT_CATEGORICAL = 1 } ss_drift_kind;

typedef struct ss_drift_feature_baseline {
    char *name;
    ss_drift_kind kind;
    double null_rate; /* fraction of training rows that were null */
    /* numeric */
    size_t nbins;  /* K bins */
    double *edges; /* K+1 ascending edges; edges[0] = min, edges[K] = max */
    double *freqs; /* K fractions of non-null rows (normalised on load) */
    double mean, std, min, max;
    double *sample; /* reference sample for KS / Wasserstein (may be empty) */
    size_t nsample;
    /* categorical */
    size_t ncats;
    char **cats;       /* category names */
    double *cat_freqs; /* their frequencies (normalised on load) */
} ss_drift_feature_baseline;

typedef struct ss_drift_baseline {
    char *model_name;
    char *version;
    double threshold_review;  /* score >= review -> REVIEW (flagged) */
    double threshold_decline; /* score >= decline -> DECLINE */
    size_t rows;              /* training rows the baseline was computed on */
    size_t nfeatures;
    ss_drift_feature_baseline *features;
    int has_score;
    ss_drift_feature_baseline score; /* name "__score__" */
} ss_drift_baseline;

/** Parse a bundle manifest (the whole bundle.json text). On success *out owns
 * a new baseline (free with ss_drift_baseline_free). Errors name the field:
 * "bad bundle: baseline.features.amount.edges: expected ascending numbers". */
int ss_drift_baseline_parse(const char *json, size_t len, ss_drift_baseline **out, char *err,
                            size_t errlen);
/** Read and parse a bundle.json file. */
int ss_drift_baseline_load(const char *path, ss_drift_baseline **out, char *err, size_t errlen);
void ss_drift_baseline_free(ss_drift_baseline *b);
/** Index of a feature by name, or -1. */
int ss_drift_baseline_find(const ss_drift_baseline *b, const char *name);

/** Build a numeric baseline from a training sample, as the training script
 * does: K quantile bins (numpy 'linear' quantiles), moments, and a reference
 * sample of up to `sample_max` values (every k-th sorted value). For tests and
 * benchmarks; `values` may contain NaN (nulls). The struct must be zeroed. */
void ss_drift_baseline_numeric_from(ss_drift_feature_baseline *f, const char *name,
                                    const double *values, size_t n, size_t nbins,
                                    size_t sample_max);
/** Categorical baseline from names and frequencies (copied). */
void ss_drift_baseline_categorical_from(ss_drift_feature_baseline *f, const char *name,
                                        const char *const *cats, const double *freqs, size_t ncats);
void ss_drift_feature_baseline_clear(ss_drift_feature_baseline *f);

#endif
