/* test_decode.c - FeatureVector / Score / Label records (built with avro-c
 * from the schemas directory) into the monitor, and a report back out as
 * DriftResult records and JSON. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "drift.h"

static avro_schema_t load_schema(const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "schemas/%s", file);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s (run from the repository root)", path);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    avro_schema_t s = NULL;
    if (avro_schema_from_json_length(text, n, &s) != 0)
        fail_msg("bad schema %s: %s", file, avro_strerror());
    return s;
}

static ss_drift_monitor *make_monitor(void)
{
    static const char bundle[] =
        "{\"name\":\"card-fraud\",\"version\":\"v1\",\"thresholds\":{\"review\":0.5,\"decline\":0."
        "9},"
        "\"baseline\":{\"rows\":1000,\"features\":{"
        "\"amount\":{\"type\":\"numeric\",\"edges\":[0,10,20,40],\"freqs\":[0.5,0.3,0.2],\"mean\":"
        "12,\"std\":8,"
        "\"min\":0,\"max\":40,\"null_rate\":0,\"sample\":[1,2,3,5,8,12,15,18,25,33]},"
        "\"channel\":{\"type\":\"categorical\",\"freqs\":{\"POS\":0.6,\"ECOM\":0.4},\"null_rate\":"
        "0}},"
        "\"score\":{\"type\":\"numeric\",\"edges\":[0,0.5,1],\"freqs\":[0.9,0.1],\"mean\":0.1,"
        "\"std\":0.2,"
        "\"min\":0,\"max\":1,\"null_rate\":0,\"sample\":[0.01,0.02,0.05,0.1,0.7]}}}";
    ss_drift_baseline *b = NULL;
    char err[256];
    assert_int_equal(ss_drift_baseline_parse(bundle, sizeof bundle - 1, &b, err, sizeof err), 0);
    ss_drift_config cfg;
    ss_drift_config_defaults(&cfg);
    cfg.min_samples = 10;
    return ss_drift_monitor_new(b, &cfg);
}

static void set_str(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, v), 0);
}
static void set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_long(&f, v), 0);
}

static void fill_vector(avro_value_t *rec, int i, int with_amount)
{
    avro_value_t map, elem, branch;
    set_str(rec, "event_id", "e");
    set_long(rec, "event_time", 1);
    set_str(rec, "entity_id", "card-1");
    set_str(rec, "definitions_version", "d1");
    set_long(rec, "computed_at", 2);
    assert_int_equal(avro_value_get_by_name(rec, "features", &map, NULL), 0);
    if (with_amount) {
        assert_int_equal(avro_value_add(&map, "amount", &elem, NULL, NULL), 0);
        if (i % 10 == 9) {
            assert_int_equal(avro_value_set_branch(&elem, 0, &branch), 0);
            assert_int_equal(avro_value_set_null(&branch), 0);
        } else {
            assert_int_equal(avro_value_set_branch(&elem, 1, &branch), 0);
            assert_int_equal(avro_value_set_double(&branch, 200.0 + i), 0); /* far out of range */
        }
    }
    assert_int_equal(avro_value_add(&map, "unmonitored", &elem, NULL, NULL), 0);
    assert_int_equal(avro_value_set_branch(&elem, 1, &branch), 0);
    assert_int_equal(avro_value_set_double(&branch, 1.0), 0);
    assert_int_equal(avro_value_get_by_name(rec, "categories", &map, NULL), 0);
    assert_int_equal(avro_value_add(&map, "channel", &elem, NULL, NULL), 0);
    assert_int_equal(avro_value_set_string(&elem, i % 2 ? "ATM" : "POS"), 0);
}

static const ss_drift_result *find(const ss_drift_report *r, const char *feature,
                                   ss_drift_metric metric)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->results[i].feature, feature) && r->results[i].metric == metric)
            return &r->results[i];
    return NULL;
}

static void test_records_into_monitor(void **state)
{
    (void)state;
    avro_schema_t fs = load_schema("feature_vector.avsc"), ss = load_schema("score.avsc"),
                  ls = load_schema("label.avsc"), rs = load_schema("drift_result.avsc");
    avro_value_iface_t *fi = avro_generic_class_from_schema(fs),
                       *si = avro_generic_class_from_schema(ss),
                       *li = avro_generic_class_from_schema(ls),
                       *ri = avro_generic_class_from_schema(rs);
    avro_value_t fv, sv, lv, rv, f;
    assert_int_equal(avro_generic_value_new(fi, &fv), 0);
    assert_int_equal(avro_generic_value_new(si, &sv), 0);
    assert_int_equal(avro_generic_value_new(li, &lv), 0);
    assert_int_equal(avro_generic_value_new(ri, &rv), 0);
    ss_drift_monitor *m = make_monitor();
    char err[256], id[32];
    for (int i = 0; i < 100; i++) {
        avro_value_reset(&fv);
        fill_vector(&fv, i, i < 90);
        assert_int_equal(drift_apply_features(m, &fv, err, sizeof err), DRIFT_APPLIED);
        /* a PRIMARY score of v1, then its label */
        avro_value_reset(&sv);
        snprintf(id, sizeof id, "ev%d", i);
        set_str(&sv, "event_id", id);
        set_str(&sv, "entity_id", "card-1");
        set_long(&sv, "event_time", 1000);
        set_str(&sv, "model_name", "card-fraud");
        set_str(&sv, "model_version", "v1");
        assert_int_equal(avro_value_get_by_name(&sv, "role", &f, NULL), 0);
        assert_int_equal(avro_value_set_enum(&f, 0), 0);
        assert_int_equal(avro_value_get_by_name(&sv, "score", &f, NULL), 0);
        assert_int_equal(avro_value_set_double(&f, i / 100.0), 0);
        set_long(&sv, "scored_at", 1001);
        int joined = -1;
        assert_int_equal(drift_apply_score(m, &sv, 5, &joined, err, sizeof err), DRIFT_APPLIED);
        assert_int_equal(joined, 0);
        avro_value_reset(&lv);
        set_str(&lv, "event_id", id);
        set_str(&lv, "entity_id", "card-1");
        assert_int_equal(avro_value_get_by_name(&lv, "label", &f, NULL), 0);
        assert_int_equal(avro_value_set_int(&f, i >= 50), 0);
        set_long(&lv, "event_time", 1000);
        set_long(&lv, "label_time", 61000);
        assert_int_equal(drift_apply_label(m, &lv, 6, &joined, err, sizeof err), DRIFT_APPLIED);
        assert_int_equal(joined, 1);
    }
    /* SHADOW and other versions are skipped */
    assert_int_equal(avro_value_get_by_name(&sv, "role", &f, NULL), 0);
    assert_int_equal(avro_value_set_enum(&f, 1), 0);
    int joined;
    assert_int_equal(drift_apply_score(m, &sv, 7, &joined, err, sizeof err), DRIFT_SKIPPED);
    assert_int_equal(avro_value_set_enum(&f, 0), 0);
    set_str(&sv, "model_version", "v2");
    assert_int_equal(drift_apply_score(m, &sv, 7, &joined, err, sizeof err), DRIFT_SKIPPED);
    /* a label outside {0, 1} is refused with the field named */
    assert_int_equal(avro_value_get_by_name(&lv, "label", &f, NULL), 0);
    assert_int_equal(avro_value_set_int(&f, 7), 0);
    assert_int_equal(drift_apply_label(m, &lv, 6, &joined, err, sizeof err), DRIFT_BAD);
    assert_non_null(strstr(err, "\"label\""));

    const ss_drift_report *r = ss_drift_monitor_evaluate(m, 10, 20, 30);
    assert_int_equal(r->window_events, 100);
    assert_int_equal(r->window_scores, 100);
    /* 10 events without amount + 9 explicit nulls of 90 */
    assert_true(fabs(find(r, "amount", SS_DM_NULL_RATE)->value - 0.19) < 1e-12);
    assert_true(find(r, "amount", SS_DM_OUT_OF_RANGE)->value == 1.0);
    assert_int_equal(find(r, "amount", SS_DM_STATUS)->status, SS_DRIFT_ALERT);
    assert_true(find(r, "channel", SS_DM_OUT_OF_RANGE)->value == 0.5); /* ATM is unknown */
    assert_true(find(r, "__performance__", SS_DM_AUC)->value == 1.0);
    assert_true(find(r, "__performance__", SS_DM_LABEL_DELAY)->value == 60000.0);
    assert_true(find(r, "__performance__", SS_DM_PRECISION)->value == 1.0);
    assert_null(find(r, "unmonitored", SS_DM_STATUS));

    /* every result encodes as a DriftResult */
    for (size_t i = 0; i < r->n; i++) {
        avro_value_reset(&rv);
        assert_int_equal(drift_result_to_avro(r, i, &rv, err, sizeof err), 0);
    }
    const ss_drift_result *psi = find(r, "amount", SS_DM_PSI);
    size_t ipsi = (size_t)(psi - r->results);
    avro_value_reset(&rv);
    assert_int_equal(drift_result_to_avro(r, ipsi, &rv, err, sizeof err), 0);
    const char *s;
    size_t n;
    double d;
    int e;
    int64_t l;
    assert_int_equal(avro_value_get_by_name(&rv, "metric", &f, NULL), 0);
    assert_int_equal(avro_value_get_string(&f, &s, &n), 0);
    assert_string_equal(s, "psi");
    assert_int_equal(avro_value_get_by_name(&rv, "model_version", &f, NULL), 0);
    assert_int_equal(avro_value_get_string(&f, &s, &n), 0);
    assert_string_equal(s, "v1");
    assert_int_equal(avro_value_get_by_name(&rv, "value", &f, NULL), 0);
    assert_int_equal(avro_value_get_double(&f, &d), 0);
    assert_true(d == psi->value);
    assert_int_equal(avro_value_get_by_name(&rv, "status", &f, NULL), 0);
    assert_int_equal(avro_value_get_enum(&f, &e), 0);
    assert_int_equal(e, 2);
    assert_int_equal(avro_value_get_by_name(&rv, "window_end", &f, NULL), 0);
    assert_int_equal(avro_value_get_long(&f, &l), 0);
    assert_int_equal(l, 20);

    json_t *j = drift_report_to_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ALERT");
    assert_int_equal(json_array_size(json_object_get(j, "results")), r->n);
    assert_int_equal(drift_report_log_alerts(r) > 0, 1);
    json_decref(j);

    ss_drift_monitor_free(m);
    avro_value_decref(&fv);
    avro_value_decref(&sv);
    avro_value_decref(&lv);
    avro_value_decref(&rv);
    avro_value_iface_decref(fi);
    avro_value_iface_decref(si);
    avro_value_iface_decref(li);
    avro_value_iface_decref(ri);
    avro_schema_decref(fs);
    avro_schema_decref(ss);
    avro_schema_decref(ls);
    avro_schema_decref(rs);
}

/* ---- the FeatureVector fast path equals the generic decode */

static void put_long(ss_buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        unsigned char c = z & 0x7f;
        z >>= 7;
        if (z) c |= 0x80;
        ss_buf_append(b, &c, 1);
    } while (z);
}

static void put_str(ss_buf *b, const char *s)
{
    put_long(b, (int64_t)strlen(s));
    ss_buf_append(b, s, strlen(s));
}

static void put_double(ss_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)(bits >> (8 * i));
        ss_buf_append(b, &c, 1);
    }
}

/* a framed FeatureVector; the features map in one negative-count block
 * (count, byte size) as Java writers emit, categories positive */
static void encode_vector(ss_buf *b, int32_t id, int i)
{
    unsigned char hdr[5] = {0, (unsigned char)(id >> 24), (unsigned char)(id >> 16),
                            (unsigned char)(id >> 8), (unsigned char)id};
    ss_buf_reset(b);
    ss_buf_append(b, hdr, 5);
    put_str(b, "ev");
    put_long(b, 1700000000000LL + i);
    put_str(b, "card-1");
    put_long(b, 1);
    put_str(b, "card");
    put_str(b, "card-1");
    put_long(b, 0);
    ss_buf feats;
    ss_buf_init(&feats);
    put_str(&feats, "amount");
    if (i % 7 == 3) {
        put_long(&feats, 0);
    } else {
        put_long(&feats, 1);
        put_double(&feats, (double)(i % 50) + 0.25);
    }
    put_str(&feats, "other");
    put_long(&feats, 1);
    put_double(&feats, -1.5);
    put_long(b, -2);
    put_long(b, (int64_t)feats.len);
    ss_buf_append(b, feats.data, feats.len);
    put_long(b, 0);
    ss_buf_free(&feats);
    put_long(b, 1);
    put_str(b, "channel");
    put_str(b, i % 3 ? "POS" : "ECOM");
    put_long(b, 0);
    put_str(b, "defs");
    unsigned char late = 0;
    ss_buf_append(b, &late, 1);
    put_long(b, 1700000000001LL + i);
}

static void test_fast_path_equals_generic(void **state)
{
    (void)state;
    avro_schema_t fs = load_schema("feature_vector.avsc");
    assert_true(drift_fast_layout_ok(fs));
    avro_schema_t other = load_schema("score.avsc");
    assert_false(drift_fast_layout_ok(other));
    avro_schema_decref(other);
    avro_value_iface_t *fi = avro_generic_class_from_schema(fs);
    avro_value_t fv;
    assert_int_equal(avro_generic_value_new(fi, &fv), 0);
    ss_drift_monitor *fast = make_monitor(), *slow = make_monitor();
    char err[256];
    ss_buf b;
    ss_buf_init(&b);
    for (int i = 0; i < 500; i++) {
        encode_vector(&b, 2, i);
        assert_int_equal(drift_fast_features(fast, b.data, b.len, 2), DRIFT_FAST_DONE);
        avro_reader_t r = avro_reader_memory(b.data + 5, (int64_t)b.len - 5);
        avro_value_reset(&fv);
        assert_int_equal(avro_value_read(r, &fv), 0);
        avro_reader_free(r);
        assert_int_equal(drift_apply_features(slow, &fv, err, sizeof err), DRIFT_APPLIED);
    }
    /* another schema id, truncation, trailing bytes: nothing folded */
    encode_vector(&b, 2, 1);
    assert_int_equal(drift_fast_features(fast, b.data, b.len, 9), DRIFT_FAST_NO);
    assert_int_equal(drift_fast_features(fast, b.data, b.len - 3, 2), DRIFT_FAST_NO);
    ss_buf_append(&b, "x", 1);
    assert_int_equal(drift_fast_features(fast, b.data, b.len, 2), DRIFT_FAST_NO);
    assert_int_equal(ss_drift_monitor_window_events(fast), 500);
    const ss_drift_report *rf = ss_drift_monitor_evaluate(fast, 0, 1, 2);
    const ss_drift_report *rs = ss_drift_monitor_evaluate(slow, 0, 1, 2);
    assert_int_equal(rf->n, rs->n);
    for (size_t i = 0; i < rf->n; i++) {
        assert_string_equal(rf->results[i].feature, rs->results[i].feature);
        assert_int_equal(rf->results[i].metric, rs->results[i].metric);
        assert_true(rf->results[i].value == rs->results[i].value);
    }
    assert_true(find(rf, "amount", SS_DM_NULL_RATE)->value > 0.1);
    ss_buf_free(&b);
    ss_drift_monitor_free(fast);
    ss_drift_monitor_free(slow);
    avro_value_decref(&fv);
    avro_value_iface_decref(fi);
    avro_schema_decref(fs);
}

static void test_config_thresholds(void **state)
{
    (void)state;
    drift_config c = {0};
    c.reservoir = 500;
    c.min_samples = 50;
    c.join_max = 10;
    c.join_horizon_ms = 1000;
    c.perf_window = 100;
    c.detector = "adwin";
    c.ph_mode = "both";
    c.adwin_delta = 0.002;
    c.adwin_clock = 32;
    c.adwin_max_buckets = 5;
    c.adwin_min_window = 5;
    c.adwin_grace = 10;
    c.ph_min_instances = 30;
    c.ph_delta = 0.005;
    c.ph_threshold = 50;
    c.ph_alpha = 0.9999;
    c.thresholds[SS_DM_PSI] = "0.05,0.5";
    c.thresholds[SS_DM_AUC] = "0.8,0.7";
    ss_drift_config mc;
    char err[256];
    assert_int_equal(drift_monitor_config(&c, &mc, err, sizeof err), 0);
    assert_int_equal(mc.detector, SS_DRIFT_DETECTOR_ADWIN);
    assert_true(mc.thresholds[SS_DM_PSI].alert == 0.5);
    assert_true(mc.thresholds[SS_DM_AUC].set && mc.thresholds[SS_DM_AUC].lower_is_worse);
    assert_true(mc.thresholds[SS_DM_WASSERSTEIN].alert == 0.2); /* untouched default */
    c.thresholds[SS_DM_PSI] = "high";
    assert_int_equal(drift_monitor_config(&c, &mc, err, sizeof err), -1);
    assert_non_null(strstr(err, "DRIFT_THRESHOLD_PSI"));
    c.thresholds[SS_DM_PSI] = NULL;
    c.detector = "kswin";
    assert_int_equal(drift_monitor_config(&c, &mc, err, sizeof err), -1);
    assert_non_null(strstr(err, "DRIFT_DETECTOR"));
    char path[256];
    drift_bundle_path("models", "card-fraud", "v7", path, sizeof path);
    assert_string_equal(path, "models/card-fraud/v7/bundle.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_into_monitor),
        cmocka_unit_test(test_config_thresholds),
        cmocka_unit_test(test_fast_path_equals_generic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
