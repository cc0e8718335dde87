/* ks.c - two-sample Kolmogorov-Smirnov test as scipy.stats.ks_2samp
 * (alternative='two-sided', method='auto').
 *
 * Exact branch: the proportion of monotone lattice paths from (0,0) to (n,m)
 * that leave the band |i/n - j/m| < d. Equal sizes use the closed alternating
 * sum evaluated Horner-style; unequal sizes a banded dynamic programme over
 * path proportions P(i,j) = (i P(i-1,j) + j P(i,j-1)) / (i+j), which never
 * overflows. Asymptotic branch: kstwo.sf(d, round(n m / (n + m))). */
#include "drift/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/util.h"

#define KS_MAX_AUTO_N 10000 /* scipy's MAX_AUTO_N: exact when max(n, m) <= this */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t gcd_size(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* max over distinct values of |i*m - j*n| (integer, exact) */
static uint64_t ks_max_gap(const double *x, size_t n, const double *y, size_t m)
{
    size_t i = 0, j = 0;
    uint64_t best = 0;
    while (i < n || j < m) {
        double cur = (j >= m || (i < n && x[i] <= y[j])) ? x[i] : y[j];
        while (i < n && x[i] == cur)
            i++;
        while (j < m && y[j] == cur)
            j++;
        int64_t gap = (int64_t)i * (int64_t)m - (int64_t)j * (int64_t)n;
        uint64_t a = (uint64_t)(gap < 0 ? -gap : gap);
        if (a > best) best = a;
    }
    return best;
}

double ss_drift_ks_stat_sorted(const double *x, size_t n, const double *y, size_t m)
{
    if (n == 0 || m == 0) return NAN;
    return (double)ks_max_gap(x, n, y, m) / ((double)n * (double)m);
}

/* P(D_{n,n} >= h/n) = 2 (A0 (1 - A1 (1 - A2 (...)))) with
 * A_k = binom(2n, n-(k+1)h) / binom(2n, n-kh), evaluated from the innermost term. */
static double ks_prob_outside_square(size_t n, size_t h)
{
    double p = 0.0;
    for (long k = (long)(n / h); k >= 0; k--) {
        double p1 = 1.0;
        for (size_t j = 0; j < h; j++)
            p1 = ((double)n - (double)k * (double)h - (double)j) * p1 /
                 ((double)n + (double)k * (double)h + (double)j + 1.0);
        p = p1 * (1.0 - p);
    }
    return 2.0 * p;
}

/* 1 - proportion of paths (0,0)->(n,m) staying strictly inside |i*mg - j*ng| < h */
static double ks_prob_outside_band(size_t n, size_t m, size_t g, uint64_t h)
{
    int64_t ng = (int64_t)(n / g), mg = (int64_t)(m / g), hh = (int64_t)h;
    double *col = ss_calloc(m + 1, sizeof *col); /* col[j] = P(i, j) for the current i */
    long prev_lo = 0;
    double result;
    for (size_t i = 0; i <= n; i++) {
        /* rows j with |i*mg - j*ng| < h:  (i*mg - h)/ng < j < (i*mg + h)/ng */
        int64_t num_lo = (int64_t)i * mg - hh, num_hi = (int64_t)i * mg + hh;
        long lo = num_lo < 0 ? 0 : (long)(num_lo / ng + 1);
        long hi = (long)((num_hi - 1) / ng); /* largest j with j*ng < num_hi */
        if (hi > (long)m) hi = (long)m;
        for (long j = prev_lo; j < lo && j <= (long)m; j++)
            col[j] = 0.0;
        if (lo > hi) {
            result = 1.0; /* every path leaves the band */
            goto done;
        }
        for (long j = lo; j <= hi; j++) {
            if (i == 0 && j == 0) {
                col[0] = 1.0;
                continue;
            }
            double left = col[j];                   /* P(i-1, j) (0 when i == 0) */
            double down = j > 0 ? col[j - 1] : 0.0; /* P(i, j-1), already updated */
            if (i == 0) left = 0.0;
            col[j] = ((double)i * left + (double)j * down) / ((double)i + (double)j);
        }
        prev_lo = lo;
    }
    result = 1.0 - col[m];
done:
    ss_free(col);
    return result;
}

double ss_drift_ks_exact_sf(size_t n, size_t m, double d)
{
    size_t g = gcd_size(n, m);
    double lcm = (double)(n / g) * (double)m;
    uint64_t h = (uint64_t)llround(d * lcm);
    if (h == 0) return 1.0;
    double p = n == m ? ks_prob_outside_square(n, (size_t)h) : ks_prob_outside_band(n, m, g, h);
    if (!(p >= 0.0 && p <= 1.0)) return NAN;
    return p;
}

/* ---- one-sample two-sided KS distribution (scipy.stats.kstwo) */

double ss_drift_smirnov(double n, double d)
{
    if (!(d > 0)) return 1.0;
    if (d >= 1.0) return 0.0;
    /* P(D+_n >= d) = d * sum_{j=0}^{floor(n(1-d))} C(n,j) (1-d-j/n)^(n-j) (d+j/n)^(j-1) */
    double sum = 0.0, lgn1 = lgamma(n + 1.0);
    long jmax = (long)floor(n * (1.0 - d));
    for (long j = 0; j <= jmax; j++) {
        double a = 1.0 - d - (double)j / n, b = d + (double)j / n;
        if (a <= 0.0) continue;
        double lt = lgn1 - lgamma((double)j + 1.0) - lgamma(n - (double)j + 1.0) +
                    (n - (double)j) * log(a) + ((double)j - 1.0) * log(b);
        sum += exp(lt);
    }
    double p = d * sum;
    return p < 0 ? 0 : (p > 1 ? 1 : p);
}

/* Pelz-Good approximation of P(D_n <= x) (Simard & L'Ecuyer 2011, eq. for
 * large n), the expansion K0 + K1/sqrt(n) + K2/n + K3/n^1.5 in theta form. */
static double kolmogn_pelz_good_cdf(double n, double x)
{
    const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
    const double sqrt2pi = sqrt(2.0 * M_PI);
    double z = sqrt(n) * x, z2 = z * z, z4 = z2 * z2, z6 = z4 * z2;
    double qlog = -pi2 / 8.0 / z2;
    if (qlog < -708.0) return 0.0;
    double q = exp(qlog);
    double k1a = -z2, k1b = pi2 / 4.0;
    double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4.0,
           k2c = pi4 * (1 - 2 * z2) / 16.0;
    double k3d = pi6 * (5 - 30 * z2) / 64.0, k3c = pi4 * (-60 * z2 + 212 * z4) / 16.0;
    double k3b = pi2 * (135 * z4 - 96 * z6) / 4.0, k3a = -30 * z6 - 90 * z4 * z4;
    double k[4] = {0, 0, 0, 0};
    long maxk = (long)ceil(16.0 * z / M_PI);
    for (long kk = maxk; kk > 0; kk--) {
        double mm = 2.0 * (double)kk - 1.0, m2 = mm * mm, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, 8.0 * (double)kk);
        double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                       k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int t = 0; t < 4; t++)
            k[t] = k[t] * qp + c[t];
    }
    double div[4] = {z, 6 * z4, 72 * z4 * z2 * z, 6480 * z4 * z6};
    for (int t = 0; t < 4; t++)
        k[t] = k[t] * q * sqrt2pi / div[t];
    double q2 = exp(-pi2 / 2.0 / z2), s2 = 0.0, s3 = 0.0, sqrt3z = sqrt(3.0) * z;
    for (long kk = maxk; kk > 0; kk--) {
        double k2 = (double)kk * (double)kk, qk = pow(q2, k2), kpi = M_PI * (double)kk;
        s2 += k2 * qk;
        s3 += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
    }
    k[2] += s2 * pi2 * sqrt2pi / (-36.0 * z2 * z);
    k[3] += s3 * pi2 * sqrt2pi / (216.0 * z6);
    return k[0] + k[1] / sqrt(n) + k[2] / n + k[3] / (n * sqrt(n));
}

double ss_drift_kstwo_sf(double d, double n)
{
    if (!(n > 0)) return NAN;
    if (d >= 1.0) return 0.0;
    if (d <= 0.0) return 1.0;
    double t = n * d;
    if (t <= 1.0) { /* Ruben-Gambino */
        if (t <= 0.5) return 1.0;
        double cdf = exp(lgamma(n + 1.0) - n * log(n) + n * log(2 * t - 1));
        return fmin(1.0, fmax(0.0, 1.0 - cdf));
    }
    if (t >= n - 1) return fmin(1.0, 2.0 * pow(1.0 - d, n));
    if (d >= 0.5) return fmin(1.0, 2.0 * ss_drift_smirnov(n, d));
    double nx2 = t * d;
    if (nx2 >= 370.0) return 0.0;
    if (nx2 >= 2.2) return fmin(1.0, 2.0 * ss_drift_smirnov(n, d));
    /* scipy uses the Durbin matrix for n*x^1.5 <= 1.4 (n <= 1e5) and n <= 140;
     * Pelz-Good stands in for both (see docs/drift.md for the tolerance). */
    double cdf = kolmogn_pelz_good_cdf(n, d);
    return fmin(1.0, fmax(0.0, 1.0 - cdf));
}

int ss_drift_ks_2samp(double *x, size_t n, double *y, size_t m, double *stat, double *pvalue)
{
    if (n == 0 || m == 0) return -1;
    qsort(x, n, sizeof *x, cmp_double);
    qsort(y, m, sizeof *y, cmp_double);
    double d = ss_drift_ks_stat_sorted(x, n, y, m);
    double p = NAN;
    if ((n > m ? n : m) <= KS_MAX_AUTO_N) {
        size_t g = gcd_size(n, m);
        double lcm = (double)(n / g) * (double)m;
        p = ss_drift_ks_exact_sf(n, m, d);
        if (!isnan(p)) d = (double)llround(d * lcm) / lcm;
    }
    if (isnan(p)) {
        double big = (double)(n > m ? n : m), small = (double)(n > m ? m : n);
        p = ss_drift_kstwo_sf(d, round(big * small / (big + small)));
    }
    *stat = d;
    *pvalue = fmin(1.0, fmax(0.0, p));
    return 0;
}
