/* stats.h - drift statistics between a current window and a training baseline.
 * Pure functions, no I/O, no global state. Each one matches the SciPy function
 * named in its comment (SciPy 1.10, Debian 12); libs/drift/tests/test_scipy.c
 * checks them against SciPy itself on generated samples. */
#ifndef SS_DRIFT_STATS_H
#define SS_DRIFT_STATS_H

#include <stddef.h>

#define SS_DRIFT_PSI_EPS 1e-4 /* fraction floor for empty bins (Evidently's default) */

/** Population stability index over k bins:
 *   sum_i (a_i - e_i) * ln(a_i / e_i),  a_i = max(actual_i / sum(actual), eps),
 *                                        e_i = max(expected_i / sum(expected), eps).
 * `expected` are baseline fractions (or counts), `actual` the window's counts.
 * Returns NAN when either side sums to zero. */
double ss_drift_psi(const double *expected, const double *actual, size_t k, double eps);

/** Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp with
 * method='auto': exact p-value when max(n, m) <= 10000, otherwise the
 * asymptotic kstwo.sf(d, round(n*m/(n+m))). x and y are sorted in place
 * (callers pass scratch copies). Returns 0, or -1 when a sample is empty. */
int ss_drift_ks_2samp(double *x, size_t n, double *y, size_t m, double *stat, double *pvalue);
/** The statistic only, on already sorted samples. */
double ss_drift_ks_stat_sorted(const double *x, size_t n, const double *y, size_t m);
/** Exact P(D >= d) for sample sizes n, m (the 'exact' branch of ks_2samp);
 * returns NAN when the computation overflows (then callers use the asymptotic). */
double ss_drift_ks_exact_sf(size_t n, size_t m, double d);
/** scipy.stats.kstwo.sf(d, n): survival function of the one-sample two-sided
 * KS statistic, via Smirnov's exact formula (n*d^2 >= 2.2) or Pelz-Good. */
double ss_drift_kstwo_sf(double d, double n);
/** scipy.special.smirnov(n, d): P(D+_n >= d), Birnbaum-Tingey exact sum. */
double ss_drift_smirnov(double n, double d);

/** scipy.stats.wasserstein_distance(x, y): first Wasserstein distance between
 * the empirical distributions. Sorts x and y in place. NAN if one is empty. */
double ss_drift_wasserstein(double *x, size_t n, double *y, size_t m);

/** scipy.stats.chisquare(observed, expected): statistic sum (o-e)^2/e and
 * p-value chi2.sf(stat, k-1-ddof). Categories with expected 0 must not be
 * passed (callers smooth the baseline first). Returns 0, or -1 on k < 2 or an
 * expected value <= 0. */
int ss_drift_chisquare(const double *observed, const double *expected, size_t k, int ddof,
                       double *stat, double *pvalue);

/** scipy.spatial.distance.jensenshannon(p, q, base): p and q are normalised
 * first; base <= 0 means natural log. Result in [0, sqrt(ln 2)] for base e,
 * [0, 1] for base 2. NAN if either sums to zero. */
double ss_drift_jensenshannon(const double *p, const double *q, size_t k, double base);

/** Regularised incomplete gamma functions (scipy.special.gammainc/gammaincc). */
double ss_drift_gammainc(double a, double x);
double ss_drift_gammaincc(double a, double x);
/** chi2.sf(x, dof) = gammaincc(dof/2, x/2). */
double ss_drift_chi2_sf(double x, double dof);

/** ROC AUC of scores vs binary labels (label != 0 = positive), exact, ties
 * counted half as sklearn.metrics.roc_auc_score does (trapezoidal ROC).
 * `scratch` holds n indices (caller provided, no allocation). NAN unless
 * both classes are present. */
double ss_drift_roc_auc(const double *scores, const int *labels, size_t n, size_t *scratch);

#endif
