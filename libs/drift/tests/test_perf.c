/* test_perf.c - label join (out of order, late, bounded) and rolling
 * precision / recall / ROC AUC against sklearn on the same pairs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "drift/perf.h"

static void test_join_against_sklearn(void **state)
{
    (void)state;
    FILE *p = popen("/usr/bin/python3 libs/drift/tests/perf_cases.py 3", "r");
    assert_non_null(p);
    ss_drift_join *j = ss_drift_join_new(100000, 3600 * 1000);
    ss_drift_perf perf;
    ss_drift_perf_init(&perf, 100000);
    char line[512], id[64];
    int joined = 0, checked = 0;
    int64_t now = 0;
    while (fgets(line, sizeof line, p)) {
        ss_drift_pair pair;
        double score, want[7];
        int label, n_expected;
        long long et, lt;
        double review, decline;
        now++;
        if (sscanf(line, "S %63s %lf", id, &score) == 2) {
            if (ss_drift_join_score(j, id, strlen(id), score, now, &pair)) {
                ss_drift_perf_add(&perf, &pair);
                joined++;
            }
        } else if (sscanf(line, "L %63s %d %lld %lld", id, &label, &et, &lt) == 4) {
            if (ss_drift_join_label(j, id, strlen(id), label, et, lt, now, &pair)) {
                ss_drift_perf_add(&perf, &pair);
                joined++;
            }
        } else if (sscanf(line, "E %lf %lf %lf %lf %lf %lf %lf %lf %d", &review, &decline, &want[0],
                          &want[1], &want[2], &want[3], &want[4], &want[5], &n_expected) == 9) {
            assert_int_equal(joined, n_expected);
            ss_drift_perf_result r = ss_drift_perf_compute(&perf, review);
            double pd, rd;
            ss_drift_perf_at(&perf, decline, &pd, &rd);
            uint64_t nd;
            double delay = ss_drift_perf_take_delay(&perf, &nd);
            assert_int_equal(r.n, (size_t)n_expected);
            assert_true(fabs(r.precision - want[0]) < 1e-12);
            assert_true(fabs(r.recall - want[1]) < 1e-12);
            assert_true(fabs((isnan(pd) ? 0 : pd) - want[2]) < 1e-12);
            assert_true(fabs(rd - want[3]) < 1e-12);
            assert_true(fabs(r.auc - want[4]) < 1e-12);
            assert_true(fabs(delay - want[5]) < 1e-6 * want[5]);
            assert_int_equal(nd, (uint64_t)n_expected);
            checked = 1;
        } else {
            fail_msg("bad line from perf_cases.py: %s", line);
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(checked);
    /* scores without labels and orphan labels still wait; nothing was dropped */
    ss_drift_join_stats st = ss_drift_join_get_stats(j);
    assert_int_equal(st.joined, (uint64_t)joined);
    assert_int_equal(st.evicted, 0);
    assert_true(ss_drift_join_waiting(j) > 300);
    ss_drift_join_free(j);
    ss_drift_perf_free(&perf);
}

static void test_join_order_and_duplicates(void **state)
{
    (void)state;
    ss_drift_join *j = ss_drift_join_new(10, 1000);
    ss_drift_pair pair;
    /* label first, then score */
    assert_int_equal(ss_drift_join_label(j, "a", 1, 1, 100, 600, 0, &pair), 0);
    assert_int_equal(ss_drift_join_label(j, "a", 1, 1, 100, 600, 1, &pair), 0); /* duplicate */
    assert_int_equal(ss_drift_join_score(j, "a", 1, 0.7, 2, &pair), 1);
    assert_true(pair.score == 0.7 && pair.label == 1 && pair.event_time_ms == 100 &&
                pair.label_time_ms == 600);
    /* score first, then label */
    assert_int_equal(ss_drift_join_score(j, "b", 1, 0.2, 3, &pair), 0);
    assert_int_equal(ss_drift_join_score(j, "b", 1, 0.2, 3, &pair), 0); /* redelivered */
    assert_int_equal(ss_drift_join_label(j, "b", 1, 0, 5, 9, 4, &pair), 1);
    assert_true(pair.score == 0.2 && pair.label == 0);
    ss_drift_join_stats st = ss_drift_join_get_stats(j);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(ss_drift_join_waiting(j), 0);
    /* beyond the horizon: the score expired before its label came */
    assert_int_equal(ss_drift_join_score(j, "c", 1, 0.9, 10, &pair), 0);
    assert_int_equal(ss_drift_join_label(j, "c", 1, 1, 0, 0, 2000, &pair), 0);
    st = ss_drift_join_get_stats(j);
    assert_int_equal(st.expired, 1);
    assert_int_equal(ss_drift_join_waiting(j), 1); /* the late label waits */
    ss_drift_join_free(j);
}

static void test_join_bounded(void **state)
{
    (void)state;
    ss_drift_join *j = ss_drift_join_new(64, INT64_MAX / 4);
    ss_drift_pair pair;
    char id[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(id, sizeof id, "s%d", i);
        ss_drift_join_score(j, id, (size_t)n, 0.5, i, &pair);
        assert_true(ss_drift_join_waiting(j) <= 64);
        if (i % 3 == 0 && i > 10) { /* join a recent one: holes inside the ring */
            n = snprintf(id, sizeof id, "s%d", i - 5);
            ss_drift_join_label(j, id, (size_t)n, 1, 0, 0, i, &pair);
        }
    }
    ss_drift_join_stats st = ss_drift_join_get_stats(j);
    /* every score was joined, evicted or still waits; every label joined */
    assert_int_equal(st.joined, 33330);
    assert_int_equal(st.evicted + st.joined + ss_drift_join_waiting(j), 100000);
    assert_true(ss_drift_join_waiting(j) > 32 &&
                ss_drift_join_waiting(j) <= 64); /* joined holes still hold ring slots */
    /* the newest entries are still there and join */
    assert_int_equal(ss_drift_join_label(j, "s99999", 6, 1, 0, 0, 100000, &pair), 1);
    assert_int_equal(ss_drift_join_label(j, "s12", 3, 1, 0, 0, 100000, &pair),
                     0); /* evicted long ago */
    ss_drift_join_free(j);
}

static void test_perf_rolling(void **state)
{
    (void)state;
    ss_drift_perf p;
    ss_drift_perf_init(&p, 4);
    ss_drift_pair pairs[6] = {{0.9, 0, 0, 0},  {0.1, 1, 0, 0},  {0.8, 1, 0, 10},
                              {0.7, 0, 0, 20}, {0.2, 0, 0, 30}, {0.95, 1, 0, 40}};
    for (int i = 0; i < 6; i++)
        ss_drift_perf_add(&p, &pairs[i]);
    /* last four: (0.8,1) (0.7,0) (0.2,0) (0.95,1): perfectly ranked */
    ss_drift_perf_result r = ss_drift_perf_compute(&p, 0.75);
    assert_int_equal(r.n, 4);
    assert_true(r.auc == 1.0);
    assert_true(r.precision == 1.0 && r.recall == 1.0);
    ss_drift_perf_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_against_sklearn),
        cmocka_unit_test(test_join_order_and_duplicates),
        cmocka_unit_test(test_join_bounded),
        cmocka_unit_test(test_perf_rolling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
