/* stats.c - PSI, Wasserstein-1, chi-squared, Jensen-Shannon, incomplete gamma
 * and ROC AUC. The KS test lives in ks.c. */
#include "drift/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

double ss_drift_psi(const double *expected, const double *actual, size_t k, double eps)
{
    double se = 0, sa = 0, psi = 0;
    for (size_t i = 0; i < k; i++) {
        se += expected[i];
        sa += actual[i];
    }
    if (!(se > 0) || !(sa > 0)) return NAN;
    for (size_t i = 0; i < k; i++) {
        double e = fmax(expected[i] / se, eps);
        double a = fmax(actual[i] / sa, eps);
        psi += (a - e) * log(a / e);
    }
    return psi;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ss_drift_wasserstein(double *x, size_t n, double *y, size_t m)
{
    if (n == 0 || m == 0) return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    qsort(y, m, sizeof *y, cmp_double);
    /* Integrate |F(t) - G(t)| over the merged support: between consecutive
     * distinct values both empirical CDFs are constant. */
    size_t i = 0, j = 0;
    double prev = fmin(x[0], y[0]), area = 0;
    while (i < n || j < m) {
        double cur = (j >= m || (i < n && x[i] <= y[j])) ? x[i] : y[j];
        area += fabs((double)i / (double)n - (double)j / (double)m) * (cur - prev);
        while (i < n && x[i] == cur)
            i++;
        while (j < m && y[j] == cur)
            j++;
        prev = cur;
    }
    return area;
}

/* ---- incomplete gamma: series for x < a + 1, Lentz continued fraction otherwise */

static double gamma_series(double a, double x)
{
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 10000; n++) {
        term *= x / (a + n);
        sum += term;
        if (fabs(term) < fabs(sum) * 1e-17) break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

static double gamma_cfrac(double a, double x)
{
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < 1e-16) break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double ss_drift_gammainc(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0 || x < 0) return NAN;
    if (x == 0) return 0.0;
    if (isinf(x)) return 1.0;
    return x < a + 1.0 ? gamma_series(a, x) : 1.0 - gamma_cfrac(a, x);
}

double ss_drift_gammaincc(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0 || x < 0) return NAN;
    if (x == 0) return 1.0;
    if (isinf(x)) return 0.0;
    return x < a + 1.0 ? 1.0 - gamma_series(a, x) : gamma_cfrac(a, x);
}

double ss_drift_chi2_sf(double x, double dof)
{
    if (x <= 0) return 1.0;
    return ss_drift_gammaincc(dof / 2.0, x / 2.0);
}

int ss_drift_chisquare(const double *observed, const double *expected, size_t k, int ddof,
                       double *stat, double *pvalue)
{
    if (k < 2 || (long)k - 1 - ddof < 1) return -1;
    double s = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(expected[i] > 0)) return -1;
        double d = observed[i] - expected[i];
        s += d * d / expected[i];
    }
    *stat = s;
    *pvalue = ss_drift_chi2_sf(s, (double)((long)k - 1 - ddof));
    return 0;
}

/* scipy.special.rel_entr: x*log(x/y) with the 0 and infinity conventions */
static double rel_entr(double x, double y)
{
    if (x > 0 && y > 0) return x * log(x / y);
    if (x == 0 && y >= 0) return 0.0;
    return INFINITY;
}

double ss_drift_jensenshannon(const double *p, const double *q, size_t k, double base)
{
    double sp = 0, sq = 0, js = 0;
    for (size_t i = 0; i < k; i++) {
        sp += p[i];
        sq += q[i];
    }
    if (!(sp > 0) || !(sq > 0)) return NAN;
    for (size_t i = 0; i < k; i++) {
        double a = p[i] / sp, b = q[i] / sq, mid = (a + b) / 2.0;
        js += rel_entr(a, mid) + rel_entr(b, mid);
    }
    if (base > 0) js /= log(base);
    return sqrt(js / 2.0);
}

/* ---- ROC AUC by the rank-sum (Mann-Whitney) identity with mid-ranks: equal
 * to the trapezoidal area under the ROC curve sklearn computes, ties included. */

static int cmp_index_by_score(const void *a, const void *b, void *scores)
{
    const double *s = scores;
    double x = s[*(const size_t *)a], y = s[*(const size_t *)b];
    return (x > y) - (x < y);
}

double ss_drift_roc_auc(const double *scores, const int *labels, size_t n, size_t *scratch)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = i;
        pos += labels[i] != 0;
    }
    size_t neg = n - pos;
    if (pos == 0 || neg == 0) return NAN;
    qsort_r(scratch, n, sizeof *scratch, cmp_index_by_score, (void *)scores);
    double rank_sum = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1, group_pos = labels[scratch[a]] != 0;
        while (b < n && scores[scratch[b]] == scores[scratch[a]])
            group_pos += labels[scratch[b++]] != 0;
        double mid_rank = ((double)(a + 1) + (double)b) / 2.0; /* ranks a+1..b */
        rank_sum += mid_rank * (double)group_pos;
        a = b;
    }
    double u = rank_sum - (double)pos * ((double)pos + 1.0) / 2.0;
    return u / ((double)pos * (double)neg);
}
