/* test_scipy.c - libs/drift statistics against SciPy and sklearn themselves.
 * Runs libs/drift/tests/scipy_cases.py with /usr/bin/python3 (Debian's SciPy
 * 1.10 / sklearn 1.2), which prints generated samples with SciPy's answers;
 * each case is recomputed here. Tolerances (|c - s| <= abs + rel * |s|):
 *   KS statistic 1e-12 abs; KS p-value exact branch 1e-12 abs + 1e-9 rel,
 *   asymptotic branch (Pelz-Good instead of scipy's Durbin matrix for small
 *   n*d^2; n > 140) 1e-6 abs; Wasserstein 1e-9 rel; chi-squared statistic 1e-9 rel,
 *   p-value 1e-9 rel + 1e-15 abs; Jensen-Shannon 1e-12 abs; PSI 1e-12 abs;
 *   gammainc/gammaincc 1e-12 rel + 1e-15 abs; ROC AUC 1e-12 abs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "drift/stats.h"

typedef struct {
    char kind[16];
    long ints[4];
    double *v;
    size_t nv;
} tcase;

static int parse_line(char *line, tcase *c, int nints)
{
    char *save = NULL, *tok = strtok_r(line, " \n", &save);
    if (!tok) return -1;
    ss_strlcpy(c->kind, tok, sizeof c->kind);
    size_t cap = 64;
    c->v = ss_malloc(cap * sizeof *c->v);
    c->nv = 0;
    int ni = 0;
    while ((tok = strtok_r(NULL, " \n", &save))) {
        if (ni < nints) {
            c->ints[ni++] = strtol(tok, NULL, 10);
            continue;
        }
        if (c->nv == cap) c->v = ss_realloc(c->v, (cap *= 2) * sizeof *c->v);
        c->v[c->nv++] = strtod(tok, NULL);
    }
    return 0;
}

static int close_to(double got, double want, double abs_tol, double rel_tol)
{
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= abs_tol + rel_tol * fabs(want);
}

static int failures, checked[8];

static void expect(const char *what, long a, long b, double got, double want, double abs_tol,
                   double rel_tol)
{
    if (close_to(got, want, abs_tol, rel_tol)) return;
    failures++;
    fprintf(stderr, "mismatch %s (%ld, %ld): got %.17g, scipy %.17g, diff %.3g\n", what, a, b, got,
            want, fabs(got - want));
}

static int kind_ints(const char *kind)
{
    if (!strcmp(kind, "ks") || !strcmp(kind, "wass")) return 2;
    if (!strcmp(kind, "gamma")) return 0;
    return 1;
}

static void run_case(tcase *c)
{
    if (!strcmp(c->kind, "ks")) {
        size_t n = (size_t)c->ints[0], m = (size_t)c->ints[1];
        assert_int_equal(c->nv, n + m + 2);
        double stat, p;
        assert_int_equal(ss_drift_ks_2samp(c->v, n, c->v + n, m, &stat, &p), 0);
        int exact = (n > m ? n : m) <= 10000;
        expect("ks statistic", (long)n, (long)m, stat, c->v[n + m], 1e-12, 0);
        expect("ks pvalue", (long)n, (long)m, p, c->v[n + m + 1], exact ? 1e-12 : 1e-6,
               exact ? 1e-9 : 0);
        checked[0]++;
    } else if (!strcmp(c->kind, "kstwo")) {
        expect("kstwo.sf", c->ints[0], (long)(c->v[0] * 1000),
               ss_drift_kstwo_sf(c->v[0], (double)c->ints[0]), c->v[1], 1e-6, 0);
        checked[1]++;
    } else if (!strcmp(c->kind, "wass")) {
        size_t n = (size_t)c->ints[0], m = (size_t)c->ints[1];
        expect("wasserstein", (long)n, (long)m, ss_drift_wasserstein(c->v, n, c->v + n, m),
               c->v[n + m], 0, 1e-9);
        checked[2]++;
    } else if (!strcmp(c->kind, "chi")) {
        size_t k = (size_t)c->ints[0];
        double stat, p;
        assert_int_equal(ss_drift_chisquare(c->v, c->v + k, k, 0, &stat, &p), 0);
        expect("chisquare statistic", (long)k, 0, stat, c->v[2 * k], 0, 1e-9);
        expect("chisquare pvalue", (long)k, 0, p, c->v[2 * k + 1], 1e-15, 1e-9);
        checked[3]++;
    } else if (!strcmp(c->kind, "js")) {
        size_t k = (size_t)c->ints[0];
        expect("jensenshannon e", (long)k, 0, ss_drift_jensenshannon(c->v, c->v + k, k, 0),
               c->v[2 * k], 1e-12, 0);
        expect("jensenshannon 2", (long)k, 2, ss_drift_jensenshannon(c->v, c->v + k, k, 2),
               c->v[2 * k + 1], 1e-12, 0);
        checked[4]++;
    } else if (!strcmp(c->kind, "psi")) {
        size_t k = (size_t)c->ints[0];
        expect("psi", (long)k, 0, ss_drift_psi(c->v, c->v + k, k, SS_DRIFT_PSI_EPS), c->v[2 * k],
               1e-12, 0);
        checked[5]++;
    } else if (!strcmp(c->kind, "gamma")) {
        expect("gammainc", (long)c->v[0], (long)c->v[1], ss_drift_gammainc(c->v[0], c->v[1]),
               c->v[2], 1e-15, 1e-12);
        expect("gammaincc", (long)c->v[0], (long)c->v[1], ss_drift_gammaincc(c->v[0], c->v[1]),
               c->v[3], 1e-15, 1e-12);
        checked[6]++;
    } else if (!strcmp(c->kind, "auc")) {
        size_t n = (size_t)c->ints[0];
        int *labels = ss_malloc(n * sizeof *labels);
        size_t *scratch = ss_malloc(n * sizeof *scratch);
        for (size_t i = 0; i < n; i++)
            labels[i] = (int)c->v[n + i];
        expect("roc_auc", (long)n, 0, ss_drift_roc_auc(c->v, labels, n, scratch), c->v[2 * n],
               1e-12, 0);
        ss_free(labels);
        ss_free(scratch);
        checked[7]++;
    } else {
        fail_msg("unknown case kind %s", c->kind);
    }
}

static void test_against_scipy(void **state)
{
    (void)state;
    const char *script = "libs/drift/tests/scipy_cases.py";
    FILE *probe = fopen(script, "r");
    if (!probe) fail_msg("cannot open %s (run from the repository root)", script);
    fclose(probe);
    FILE *p = popen("/usr/bin/python3 libs/drift/tests/scipy_cases.py 7", "r");
    assert_non_null(p);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, p) > 0) {
        char kind[16] = {0};
        sscanf(line, "%15s", kind);
        tcase c = {0};
        assert_int_equal(parse_line(line, &c, kind_ints(kind)), 0);
        run_case(&c);
        ss_free(c.v);
    }
    free(line);
    assert_int_equal(pclose(p), 0);
    const char *names[] = {"ks", "kstwo", "wass", "chi", "js", "psi", "gamma", "auc"};
    for (int i = 0; i < 8; i++) {
        fprintf(stderr, "checked %d %s cases\n", checked[i], names[i]);
        assert_true(checked[i] > 0);
    }
    assert_int_equal(failures, 0);
}

static void test_edge_cases(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, y[3] = {1, 2, 3}, stat = -1, p = -1;
    assert_int_equal(ss_drift_ks_2samp(x, 3, y, 3, &stat, &p), 0);
    assert_true(stat == 0.0 && p == 1.0);
    assert_int_equal(ss_drift_ks_2samp(x, 0, y, 3, &stat, &p), -1);
    double e[2] = {0.5, 0.5}, a[2] = {0, 0};
    assert_true(isnan(ss_drift_psi(e, a, 2, SS_DRIFT_PSI_EPS)));
    double obs[2] = {1, 2}, exp0[2] = {3, 0};
    assert_int_equal(ss_drift_chisquare(obs, exp0, 2, 0, &stat, &p), -1);
    int labels[2] = {1, 1};
    size_t scratch[2];
    assert_true(isnan(ss_drift_roc_auc(x, labels, 2, scratch)));
    assert_true(ss_drift_wasserstein(x, 3, y, 3) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_scipy),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
