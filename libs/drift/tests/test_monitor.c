/* test_monitor.c - windows, thresholds and statuses end to end on seeded
 * streams: a stationary stream raises no alert over 1,000,000 events; a mean
 * shift of one std in one feature alerts that feature only, within two
 * windows; a score shift trips the change detector; the bundle baseline
 * parser accepts the documented format and names bad fields. */
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
#include "drift/monitor.h"

static uint64_t rs;
static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((rs >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(2.0 * M_PI * unif());
}

#define NNUM 5
static const char *const num_names[NNUM] = {"amount", "log_amount", "gap_s", "ratio", "count_1h"};
static const char *const cats[4] = {"POS", "ECOM", "ATM", "MOTO"};
static const double cat_freqs[4] = {0.6, 0.35, 0.04, 0.01};

/* feature i of one event; shift is in units of the feature's std */
static double draw(int i, double shift)
{
    switch (i) {
    case 0:
        return 50.0 + 10.0 * (gauss() + shift);
    case 1:
        return exp(1.0 + 0.5 * gauss()) + shift * 1.5;
    case 2:
        return -log(unif()) * 30.0 + shift * 30.0;
    case 3:
        return unif() + shift * 0.2887;
    default: { /* Poisson(3): many ties */
        double l = exp(-3.0), p = 1.0;
        int k = 0;
        do {
            k++;
            p *= unif();
        } while (p > l);
        return k - 1 + shift * 1.732;
    }
    }
}
static const char *draw_cat(void)
{
    double u = unif(), c = 0;
    for (int i = 0; i < 4; i++)
        if (u < (c += cat_freqs[i])) return cats[i];
    return cats[0];
}
static double draw_score(double shift)
{
    double u = unif();
    double s = u < 0.97 ? 0.02 + 0.1 * unif() * unif() : 0.5 + 0.5 * unif();
    return fmin(1.0, s + shift);
}

static ss_drift_baseline *make_baseline(void)
{
    ss_drift_baseline *b = ss_calloc(1, sizeof *b);
    b->model_name = ss_strdup("card-fraud");
    b->version = ss_strdup("test.1");
    b->threshold_review = 0.5;
    b->threshold_decline = 0.9;
    b->nfeatures = NNUM + 1;
    b->features = ss_calloc(b->nfeatures, sizeof *b->features);
    size_t rows = 50000;
    double *v = ss_malloc(rows * sizeof *v);
    rs = 99;
    for (int f = 0; f < NNUM; f++) {
        for (size_t r = 0; r < rows; r++)
            v[r] = draw(f, 0);
        ss_drift_baseline_numeric_from(&b->features[f], num_names[f], v, rows, 10, 1000);
    }
    ss_drift_baseline_categorical_from(&b->features[NNUM], "channel", cats, cat_freqs, 4);
    for (size_t r = 0; r < rows; r++)
        v[r] = draw_score(0);
    ss_drift_baseline_numeric_from(&b->score, "__score__", v, rows, 10, 1000);
    b->has_score = 1;
    ss_free(v);
    return b;
}

typedef struct stream {
    ss_drift_monitor *m;
    int idx[NNUM + 1];
    uint64_t events;
} stream;

static void stream_init(stream *s)
{
    ss_drift_config cfg;
    ss_drift_config_defaults(&cfg);
    s->m = ss_drift_monitor_new(make_baseline(), &cfg);
    for (int f = 0; f < NNUM; f++)
        s->idx[f] = ss_drift_monitor_feature(s->m, num_names[f], strlen(num_names[f]));
    s->idx[NNUM] = ss_drift_monitor_feature(s->m, "channel", 7);
    for (int f = 0; f <= NNUM; f++)
        assert_true(s->idx[f] >= 0);
    s->events = 0;
}

/* one window of n events; feature `shift_feature` (or -1) shifted by one std */
static const ss_drift_report *run_window(stream *s, uint64_t n, int shift_feature,
                                         double score_shift)
{
    char id[32];
    for (uint64_t e = 0; e < n; e++) {
        ss_drift_monitor_begin_event(s->m);
        for (int f = 0; f < NNUM; f++)
            ss_drift_monitor_numeric(s->m, s->idx[f], draw(f, f == shift_feature ? 1.0 : 0.0));
        const char *c = draw_cat();
        ss_drift_monitor_category(s->m, s->idx[NNUM], c, strlen(c));
        ss_drift_monitor_end_event(s->m);
        int len = snprintf(id, sizeof id, "e%llu", (unsigned long long)s->events++);
        double score = draw_score(score_shift);
        ss_drift_monitor_score(s->m, id, (size_t)len, score, (int64_t)s->events);
        if (e % 4 == 0) /* a quarter of events get a label */
            ss_drift_monitor_label(s->m, id, (size_t)len, unif() < score, 0, 1000,
                                   (int64_t)s->events);
    }
    return ss_drift_monitor_evaluate(s->m, 0, 1, 2);
}

static const ss_drift_result *find(const ss_drift_report *r, const char *feature,
                                   ss_drift_metric metric)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->results[i].feature, feature) && r->results[i].metric == metric)
            return &r->results[i];
    return NULL;
}

static void test_stationary_no_alert(void **state)
{
    (void)state;
    stream s;
    stream_init(&s);
    rs = 12345;
    int warns = 0;
    double worst_psi = 0, worst_w = 0;
    for (int w = 0; w < 100; w++) { /* 100 windows x 10,000 = 1,000,000 events */
        const ss_drift_report *r = run_window(&s, 10000, -1, 0);
        assert_int_equal(r->window_events, 10000);
        for (size_t i = 0; i < r->n; i++) {
            const ss_drift_result *x = &r->results[i];
            if (x->status == SS_DRIFT_ALERT)
                fail_msg("window %d: %s %s = %g is ALERT (threshold %g)", w, x->feature,
                         ss_drift_metric_name(x->metric), x->value, x->threshold);
            warns += x->status == SS_DRIFT_WARN && x->metric != SS_DM_STATUS;
            if (x->metric == SS_DM_PSI) worst_psi = fmax(worst_psi, x->value);
            if (x->metric == SS_DM_WASSERSTEIN) worst_w = fmax(worst_w, x->value);
        }
        assert_true(r->overall != SS_DRIFT_ALERT);
        /* every feature, the score and the overall summary report each window */
        assert_non_null(find(r, "amount", SS_DM_KS_PVALUE));
        assert_non_null(find(r, "channel", SS_DM_CHI2_PVALUE));
        assert_non_null(find(r, "__score__", SS_DM_CHANGE));
        assert_non_null(find(r, "__performance__", SS_DM_AUC));
        assert_non_null(find(r, "__overall__", SS_DM_STATUS));
    }
    fprintf(
        stderr,
        "stationary: %d WARN results over 100 windows; worst PSI %.4f, worst Wasserstein %.4f\n",
        warns, worst_psi, worst_w);
    const ss_drift_report *r = ss_drift_monitor_last(s.m);
    /* labels joined: AUC of an informative score is well above 0.5 */
    assert_true(find(r, "__performance__", SS_DM_AUC)->value > 0.6);
    assert_true(find(r, "__performance__", SS_DM_LABEL_DELAY)->value == 1000);
    ss_drift_monitor_free(s.m);
}

static void test_mean_shift_one_feature(void **state)
{
    (void)state;
    for (int target = 0; target < NNUM; target++) {
        stream s;
        stream_init(&s);
        rs = 777 + (uint64_t)target;
        for (int w = 0; w < 3; w++)
            assert_true(run_window(&s, 10000, -1, 0)->overall != SS_DRIFT_ALERT);
        int alerted_at = -1;
        for (int w = 0; w < 2 && alerted_at < 0; w++) {
            const ss_drift_report *r = run_window(&s, 10000, target, 0);
            for (size_t i = 0; i < r->n; i++) {
                const ss_drift_result *x = &r->results[i];
                if (x->status != SS_DRIFT_ALERT || !strcmp(x->feature, "__overall__")) continue;
                if (strcmp(x->feature, num_names[target]) != 0)
                    fail_msg("shift of %s alerted %s %s = %g", num_names[target], x->feature,
                             ss_drift_metric_name(x->metric), x->value);
            }
            const ss_drift_result *st = find(r, num_names[target], SS_DM_STATUS);
            if (st->status == SS_DRIFT_ALERT) {
                alerted_at = w;
                assert_true(st->became_alert);
                assert_true(find(r, num_names[target], SS_DM_PSI)->status == SS_DRIFT_ALERT);
                assert_int_equal(r->overall, SS_DRIFT_ALERT);
            }
        }
        fprintf(stderr, "shift of %s: ALERT in shifted window %d\n", num_names[target], alerted_at);
        assert_true(alerted_at >= 0);
        ss_drift_monitor_free(s.m);
    }
}

static void test_score_shift_trips_detector(void **state)
{
    (void)state;
    stream s;
    stream_init(&s);
    rs = 4242;
    for (int w = 0; w < 5; w++)
        assert_true(find(run_window(&s, 10000, -1, 0), "__score__", SS_DM_CHANGE)->value == 0);
    /* scores shift up by 0.1: within 2,000 events the detector fires */
    const ss_drift_report *r = run_window(&s, 2000, -1, 0.1);
    const ss_drift_result *c = find(r, "__score__", SS_DM_CHANGE);
    assert_true(c->value >= 1);
    assert_int_equal(c->status, SS_DRIFT_ALERT);
    ss_drift_monitor_free(s.m);
}

static void test_missing_feature_counts_null(void **state)
{
    (void)state;
    stream s;
    stream_init(&s);
    rs = 5;
    for (int e = 0; e < 1000; e++) {
        ss_drift_monitor_begin_event(s.m);
        for (int f = 1; f < NNUM; f++)
            ss_drift_monitor_numeric(s.m, s.idx[f], draw(f, 0));
        ss_drift_monitor_end_event(s.m); /* amount and channel absent */
    }
    const ss_drift_report *r = ss_drift_monitor_evaluate(s.m, 0, 1, 2);
    assert_true(find(r, "amount", SS_DM_NULL_RATE)->value == 1.0);
    assert_int_equal(find(r, "amount", SS_DM_NULL_RATE)->status, SS_DRIFT_ALERT);
    assert_true(find(r, "channel", SS_DM_NULL_RATE)->value == 1.0);
    assert_true(find(r, "ratio", SS_DM_NULL_RATE)->value == 0.0);
    assert_null(find(r, "amount", SS_DM_PSI)); /* no values: no distribution metrics */
    ss_drift_monitor_free(s.m);
}

static const char bundle_json[] =
    "{\"format\":\"streamscore.bundle/"
    "v1\",\"name\":\"card-fraud\",\"version\":\"2026-11-24.1\",\"kind\":\"logistic\","
    "\"logistic\":{\"intercept\":-4.2,\"weights\":[0.1]},\"features\":[\"amount\"],"
    "\"thresholds\":{\"review\":0.5,\"decline\":0.9},\"top_reasons\":3,"
    "\"baseline\":{\"rows\":50000,\"features\":{"
    "\"amount\":{\"type\":\"numeric\",\"edges\":[0,10,20,40],\"freqs\":[0.5,0.3,0.2],\"mean\":12.5,"
    "\"std\":8,"
    "\"min\":0,\"max\":40,\"null_rate\":0.01,\"sample\":[1,2,3,15,25]},"
    "\"channel\":{\"type\":\"categorical\",\"freqs\":{\"POS\":0.6,\"ECOM\":0.35,\"ATM\":0.04,"
    "\"MOTO\":0.01},"
    "\"null_rate\":0}},"
    "\"score\":{\"type\":\"numeric\",\"edges\":[0,0.5,1],\"freqs\":[9,1],\"mean\":0.1,\"std\":0.2,"
    "\"min\":0,"
    "\"max\":1,\"null_rate\":0,\"sample\":[0.1,0.2]}},"
    "\"training\":{\"created_at\":\"2026-11-24T10:00:00Z\",\"auc\":0.97,\"seed\":42}}";

static void test_baseline_parse(void **state)
{
    (void)state;
    ss_drift_baseline *b = NULL;
    char err[256] = "";
    assert_int_equal(
        ss_drift_baseline_parse(bundle_json, sizeof bundle_json - 1, &b, err, sizeof err), 0);
    assert_string_equal(b->model_name, "card-fraud");
    assert_string_equal(b->version, "2026-11-24.1");
    assert_true(b->threshold_review == 0.5 && b->threshold_decline == 0.9);
    assert_int_equal(b->nfeatures, 2);
    int a = ss_drift_baseline_find(b, "amount"), c = ss_drift_baseline_find(b, "channel");
    assert_true(a >= 0 && c >= 0);
    assert_int_equal(b->features[a].nbins, 3);
    assert_int_equal(b->features[a].nsample, 5);
    assert_true(b->features[a].std == 8 && b->features[a].null_rate == 0.01);
    assert_int_equal(b->features[c].kind, SS_DRIFT_CATEGORICAL);
    assert_int_equal(b->features[c].ncats, 4);
    assert_true(b->has_score);
    assert_true(fabs(b->score.freqs[0] - 0.9) < 1e-12); /* normalised */
    ss_drift_baseline_free(b);

    struct {
        const char *from, *to, *msg;
    } bad[] = {
        {"\"edges\":[0,10,20,40]", "\"edges\":[0,30,20,40]", "baseline.features.amount.edges[2]"},
        {"\"freqs\":[0.5,0.3,0.2]", "\"freqs\":[0.5,0.3]", "baseline.features.amount"},
        {"\"type\":\"categorical\"", "\"type\":\"text\"", "baseline.features.channel.type"},
        {"\"review\":0.5", "\"review\":\"x\"", "thresholds.review"},
        {"\"mean\":12.5", "\"mean\":\"a\"", "baseline.features.amount.mean"},
        {"\"sample\":[1,2,3,15,25]", "\"sample\":[1,\"2\"]", "baseline.features.amount.sample[1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[4096];
        const char *at = strstr(bundle_json, bad[i].from);
        assert_non_null(at);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - bundle_json), bundle_json, bad[i].to,
                 at + strlen(bad[i].from));
        b = NULL;
        assert_int_equal(ss_drift_baseline_parse(text, strlen(text), &b, err, sizeof err), -1);
        assert_null(b);
        if (!strstr(err, bad[i].msg)) fail_msg("error \"%s\" does not name %s", err, bad[i].msg);
    }
    /* tools/train writes all-null features as empty edges/freqs */
    char text[4096];
    const char *at = strstr(bundle_json, "\"channel\":{");
    snprintf(text, sizeof text,
             "%.*s\"empty\":{\"type\":\"numeric\",\"null_rate\":1.0,\"edges\":[],\"freqs\":[],"
             "\"mean\":0,\"std\":0,\"min\":0,\"max\":0,\"sample\":[]},"
             "\"nocat\":{\"type\":\"categorical\",\"freqs\":{},\"null_rate\":1.0},%s",
             (int)(at - bundle_json), bundle_json, at);
    assert_int_equal(ss_drift_baseline_parse(text, strlen(text), &b, err, sizeof err), 0);
    assert_int_equal(b->nfeatures, 4);
    ss_drift_config cfg;
    ss_drift_config_defaults(&cfg);
    ss_drift_monitor *m = ss_drift_monitor_new(b, &cfg);
    int ie = ss_drift_monitor_feature(m, "empty", 5), ic = ss_drift_monitor_feature(m, "nocat", 5);
    for (int i = 0; i < 200; i++) {
        ss_drift_monitor_begin_event(m);
        ss_drift_monitor_numeric(m, ie, i % 2 ? NAN : 3.0);
        ss_drift_monitor_category(m, ic, "X", 1);
        ss_drift_monitor_end_event(m);
    }
    const ss_drift_report *r = ss_drift_monitor_evaluate(m, 0, 1, 2);
    assert_non_null(r);
    ss_drift_monitor_free(m);
    assert_int_equal(ss_drift_baseline_parse("{", 1, &b, err, sizeof err), -1);
    assert_int_equal(ss_drift_baseline_load("/nonexistent/bundle.json", &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/bundle.json"));
}

static void test_thresholds(void **state)
{
    (void)state;
    ss_drift_config c;
    ss_drift_config_defaults(&c);
    char err[256];
    assert_int_equal(ss_drift_threshold_parse(&c, SS_DM_PSI, "0.05,0.3", err, sizeof err), 0);
    assert_true(c.thresholds[SS_DM_PSI].warn == 0.05 && c.thresholds[SS_DM_PSI].alert == 0.3);
    assert_int_equal(ss_drift_threshold_status(&c.thresholds[SS_DM_PSI], 0.1), SS_DRIFT_WARN);
    assert_int_equal(ss_drift_threshold_parse(&c, SS_DM_PSI, "0.3,0.05", err, sizeof err), -1);
    assert_int_equal(ss_drift_threshold_parse(&c, SS_DM_AUC, "0.8,0.7", err, sizeof err), 0);
    assert_int_equal(ss_drift_threshold_status(&c.thresholds[SS_DM_AUC], 0.75), SS_DRIFT_WARN);
    assert_int_equal(ss_drift_threshold_status(&c.thresholds[SS_DM_AUC], 0.6), SS_DRIFT_ALERT);
    assert_int_equal(ss_drift_threshold_parse(&c, SS_DM_AUC, "off", err, sizeof err), 0);
    assert_int_equal(ss_drift_threshold_status(&c.thresholds[SS_DM_AUC], 0.1), SS_DRIFT_OK);
    assert_int_equal(ss_drift_threshold_parse(&c, SS_DM_KS_PVALUE, "abc", err, sizeof err), -1);
    assert_non_null(strstr(err, "ks_pvalue"));
    assert_int_equal(ss_drift_metric_parse("jensen_shannon"), SS_DM_JS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_parse),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_missing_feature_counts_null),
        cmocka_unit_test(test_score_shift_trips_detector),
        cmocka_unit_test(test_mean_shift_one_feature),
        cmocka_unit_test(test_stationary_no_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
