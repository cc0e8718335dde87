/* test_metrics.c - registry, text format 0.0.4 rendering, label escaping,
 * histogram buckets and quantile estimates; the output is checked by
 * Prometheus' own parser (promtool check metrics). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/metrics.h"
#include "common/util.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static int teardown(void **state)
{
    (void)state;
    ss_metrics_reset();
    return 0;
}

static char *render(void)
{
    ss_buf b;
    ss_buf_init(&b);
    ss_metrics_render(&b);
    return b.data ? b.data : ss_strdup("");
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_counter_and_gauge_render(void **state)
{
    (void)state;
    ss_metric *a = ss_counter("ss_test_events_total", "Events seen.", "topic=\"a\"");
    ss_metric *b = ss_counter("ss_test_events_total", "Events seen.", "topic=\"b\"");
    ss_metric *g = ss_gauge("ss_test_inflight", "In flight.", NULL);
    ss_metric_inc(a);
    ss_metric_add(a, 2.5);
    ss_metric_add(b, 1);
    ss_metric_add(b, -5); /* ignored: counters only go up */
    ss_metric_set(g, 7);
    ss_metric_add(g, -10);
    assert_true(ss_counter("ss_test_events_total", "Events seen.", "topic=\"a\"") == a);
    assert_double_equal(ss_metric_value(a), 3.5, 1e-12);
    assert_double_equal(ss_metric_value(b), 1, 1e-12);
    assert_double_equal(ss_metric_value(g), -3, 1e-12);

    char *txt = render();
    assert_int_equal(count_occurrences(txt, "# HELP ss_test_events_total Events seen.\n"), 1);
    assert_int_equal(count_occurrences(txt, "# TYPE ss_test_events_total counter\n"), 1);
    assert_non_null(strstr(txt, "ss_test_events_total{topic=\"a\"} 3.5\n"));
    assert_non_null(strstr(txt, "ss_test_events_total{topic=\"b\"} 1\n"));
    assert_non_null(strstr(txt, "# TYPE ss_test_inflight gauge\nss_test_inflight -3\n"));
    /* series of one family are contiguous, right after its TYPE line */
    assert_true(strstr(txt, "topic=\"b\"") < strstr(txt, "# HELP ss_test_inflight"));
    ss_free(txt);
}

static void test_label_escaping(void **state)
{
    (void)state;
    char labels[256];
    size_t n = ss_metric_labels(labels, sizeof(labels), "path", "a\"b\\c\nd", "code", "200", NULL);
    assert_string_equal(labels, "path=\"a\\\"b\\\\c\\nd\",code=\"200\"");
    assert_int_equal(n, strlen(labels));
    char small[8];
    assert_int_equal(ss_metric_labels(small, sizeof(small), "k", "value", NULL), 9);
    assert_string_equal(small, "k=\"valu");

    ss_counter("ss_test_escape_total", "Help with \\ and\nnewline.", labels);
    char *txt = render();
    assert_non_null(strstr(txt, "# HELP ss_test_escape_total Help with \\\\ and\\nnewline.\n"));
    assert_non_null(strstr(txt, "ss_test_escape_total{path=\"a\\\"b\\\\c\\nd\",code=\"200\"} 0\n"));
    ss_free(txt);
}

static void test_histogram_buckets(void **state)
{
    (void)state;
    const double bounds[] = {0.1, 0.5, 1};
    ss_metric *h = ss_histogram("ss_test_latency_seconds", "Latency.", "route=\"/x\"", bounds, 3);
    ss_metric_observe(h, 0.05);
    ss_metric_observe(h, 0.1); /* le is inclusive */
    ss_metric_observe(h, 0.3);
    ss_metric_observe(h, 2);
    ss_metric_observe(h, NAN); /* ignored */
    assert_double_equal(ss_metric_value(h), 4, 0);

    char *txt = render();
    assert_non_null(strstr(txt, "# TYPE ss_test_latency_seconds histogram\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_sum{route=\"/x\"} 2.45\n"));
    assert_non_null(strstr(txt, "ss_test_latency_seconds_count{route=\"/x\"} 4\n"));
    ss_free(txt);

    /* default latency buckets: 50us .. 10s, no labels */
    ss_metric *d = ss_histogram("ss_test_default_seconds", "Default buckets.", NULL, NULL, 0);
    ss_metric_observe(d, 0.00003);
    txt = render();
    assert_non_null(strstr(txt, "ss_test_default_seconds_bucket{le=\"5e-05\"} 1\n"));
    assert_non_null(strstr(txt, "ss_test_default_seconds_bucket{le=\"10\"} 1\n"));
    assert_non_null(strstr(txt, "ss_test_default_seconds_count 1\n"));
    ss_free(txt);
}

static void test_quantiles(void **state)
{
    (void)state;
    const double bounds[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    ss_metric *h = ss_histogram("ss_test_uniform", "Uniform 0..100.", NULL, bounds, 10);
    assert_true(isnan(ss_metric_quantile(h, 0.5)));
    for (int i = 1; i <= 1000; i++)
        ss_metric_observe(h, i / 10.0); /* 0.1 .. 100 */
    /* a uniform sample: the estimate is close to the true quantile */
    assert_double_equal(ss_metric_quantile(h, 0.5), 50.0, 0.2);
    assert_double_equal(ss_metric_quantile(h, 0.9), 90.0, 0.2);
    assert_double_equal(ss_metric_quantile(h, 0.99), 99.0, 0.2);
    assert_double_equal(ss_metric_quantile(h, 0.0), 0.1, 1e-12);
    assert_double_equal(ss_metric_quantile(h, 1.0), 100.0, 1e-12);
    /* monotone in q */
    double prev = -1;
    for (double q = 0; q <= 1.0; q += 0.01) {
        double v = ss_metric_quantile(h, q);
        assert_true(v >= prev);
        prev = v;
    }

    /* everything in the +Inf bucket: bounded by the observed max, not infinite */
    const double one[] = {1};
    ss_metric *o = ss_histogram("ss_test_overflow", "Overflow.", NULL, one, 1);
    ss_metric_observe(o, 5);
    ss_metric_observe(o, 7);
    double q = ss_metric_quantile(o, 0.99);
    assert_true(q >= 5 && q <= 7);
    /* counters have no quantiles */
    assert_true(isnan(ss_metric_quantile(ss_counter("ss_test_c_total", "c", NULL), 0.5)));
}

static void test_reset(void **state)
{
    (void)state;
    ss_metric_inc(ss_counter("ss_test_reset_total", "r", NULL));
    ss_metrics_reset();
    char *txt = render();
    assert_string_equal(txt, "");
    ss_free(txt);
    ss_metric *c = ss_counter("ss_test_reset_total", "r", NULL);
    assert_double_equal(ss_metric_value(c), 0, 0);
}

static void test_values_round_trip(void **state)
{
    (void)state;
    ss_metric *g = ss_gauge("ss_test_values", "Values.", "k=\"pi\"");
    ss_metric_set(g, 3.141592653589793);
    ss_metric_set(ss_gauge("ss_test_values", "Values.", "k=\"big\""), 1e21);
    ss_metric_set(ss_gauge("ss_test_values", "Values.", "k=\"nan\""), NAN);
    ss_metric_set(ss_gauge("ss_test_values", "Values.", "k=\"inf\""), -INFINITY);
    char *txt = render();
    assert_non_null(strstr(txt, "ss_test_values{k=\"pi\"} 3.141592653589793\n"));
    assert_non_null(strstr(txt, "ss_test_values{k=\"big\"} 1e+21\n"));
    assert_non_null(strstr(txt, "ss_test_values{k=\"nan\"} NaN\n"));
    assert_non_null(strstr(txt, "ss_test_values{k=\"inf\"} -Inf\n"));
    ss_free(txt);
}

/* The real parser: promtool (Debian package prometheus) must accept a registry
 * exercising every feature, with no lint complaints either. */
static void test_promtool_accepts(void **state)
{
    (void)state;
    char labels[128];
    ss_metric_labels(labels, sizeof(labels), "route", "/v1/features/{entity}/{id}", "quote",
                     "say \"hi\"\\", NULL);
    ss_metric_inc(ss_counter("ss_test_requests_total", "Requests served.", labels));
    ss_metric_inc(
        ss_counter("ss_test_requests_total", "Requests served.", "route=\"/b\",quote=\"\""));
    ss_metric_set(ss_gauge("ss_test_connections", "Open connections.", NULL), 3);
    ss_metric_set(ss_gauge("ss_test_nan", "NaN gauge.", NULL), NAN);
    ss_metric *h =
        ss_histogram("ss_test_request_duration_seconds", "Request latency.", labels, NULL, 0);
    ss_metric_observe(h, 0.0012);
    ss_metric_observe(ss_histogram("ss_test_request_duration_seconds", "Request latency.",
                                   "route=\"/b\",quote=\"\"", NULL, 0),
                      42);

    char path[] = "/tmp/ss-test-metrics.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    char *txt = render();
    fputs(txt, f);
    fclose(f);
    ss_free(txt);

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    unlink(path);
    if (rc != 0) fprintf(stderr, "promtool said (rc %d): %s\n", rc, out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_counter_and_gauge_render, teardown),
        cmocka_unit_test_teardown(test_label_escaping, teardown),
        cmocka_unit_test_teardown(test_histogram_buckets, teardown),
        cmocka_unit_test_teardown(test_quantiles, teardown),
        cmocka_unit_test_teardown(test_reset, teardown),
        cmocka_unit_test_teardown(test_values_round_trip, teardown),
        cmocka_unit_test_teardown(test_promtool_accepts, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
