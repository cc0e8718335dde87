/* test_model.c - logistic bundles, reason ranking, decisions, manifest checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/util.h"
#include "model/model.h"

static char dir[256];

static void write_bundle(const char *version, const char *json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lr/%s", dir, version);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/bundle.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ss-model-test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

#define LR_BUNDLE(version, extra)                                                                  \
    "{\"format\":\"streamscore.bundle/v1\",\"name\":\"lr\",\"version\":\"" version "\","           \
    "\"kind\":\"logistic\",\"features\":[\"a\",\"b\",\"c\",\"d\"],"                                \
    "\"thresholds\":{\"review\":0.5,\"decline\":0.9},\"top_reasons\":2,"                           \
    "\"logistic\":{\"intercept\":-1.0,\"weights\":[0.5,-2.0,1.0,0.0]" extra "}}"

static void test_logistic_predict_and_reasons(void **state)
{
    (void)state;
    write_bundle("1", LR_BUNDLE("1", ",\"center\":[1,0,0,5]"));
    char err[512] = "";
    ss_model *m = ss_model_load_store(dir, "lr", "1", err, sizeof err);
    if (!m) fail_msg("%s", err);
    assert_string_equal(ss_model_kind(m), "logistic");
    assert_int_equal(ss_model_nfeatures(m), 4);
    assert_int_equal(ss_model_feature_index(m, "c"), 2);
    assert_int_equal(ss_model_feature_index(m, "zz"), -1);
    assert_int_equal(ss_model_top_k(m), 2);

    double x[4] = {3, 1, NAN, 7};
    /* missing c sits at its center 0 */
    double z = -1.0 + 0.5 * 3 - 2.0 * 1 + 0 + 0;
    assert_true(fabs(ss_model_margin(m, x) - z) < 1e-12);
    assert_true(fabs(ss_model_predict(m, x) - 1 / (1 + exp(-z))) < 1e-12);

    double phi[5];
    ss_model_contributions(m, x, phi);
    assert_true(fabs(phi[0] - 0.5 * (3 - 1)) < 1e-12);
    assert_true(fabs(phi[1] - (-2.0)) < 1e-12);
    assert_true(phi[2] == 0 && phi[3] == 0);
    assert_true(fabs(phi[4] - (-1.0 + 0.5 * 1)) < 1e-12);
    double sum = phi[0] + phi[1] + phi[2] + phi[3] + phi[4];
    assert_true(fabs(sum - z) < 1e-12);

    ss_reason r[4];
    size_t n = ss_model_top_reasons(m, x, phi, r, 2);
    assert_int_equal(n, 2);
    assert_string_equal(ss_model_feature(m, (size_t)r[0].feature), "b");
    assert_true(r[0].contribution == -2.0 && r[0].value == 1);
    assert_string_equal(ss_model_feature(m, (size_t)r[1].feature), "a");
    /* zero contributions never make a reason */
    n = ss_model_top_reasons(m, x, phi, r, 4);
    assert_int_equal(n, 2);
    ss_model_free(m);
}

static void test_top_reasons_order(void **state)
{
    (void)state;
    write_bundle("2", LR_BUNDLE("2", ""));
    char err[512] = "";
    ss_model *m = ss_model_load_store(dir, "lr", "2", err, sizeof err);
    if (!m) fail_msg("%s", err);
    double x[4] = {1, 2, 3, 4};
    double phi[5] = {0.3, -0.9, 0.3, 0.5, 0};
    ss_reason r[3];
    size_t n = ss_model_top_reasons(m, x, phi, r, 3);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].feature, 1);
    assert_int_equal(r[1].feature, 3);
    assert_int_equal(r[2].feature, 0); /* tie with 2: lower index first */
    n = ss_model_top_reasons(m, x, phi, r, 1);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].feature, 1);
    assert_int_equal(ss_model_top_reasons(m, x, phi, r, 0), 0);
    ss_model_free(m);
}

static void test_decisions(void **state)
{
    (void)state;
    write_bundle("3", LR_BUNDLE("3", ""));
    char err[512] = "";
    ss_model *m = ss_model_load_store(dir, "lr", "3", err, sizeof err);
    if (!m) fail_msg("%s", err);
    assert_int_equal(ss_model_decide(m, 0.1), SS_DECISION_APPROVE);
    assert_int_equal(ss_model_decide(m, 0.5), SS_DECISION_REVIEW);
    assert_int_equal(ss_model_decide(m, 0.89), SS_DECISION_REVIEW);
    assert_int_equal(ss_model_decide(m, 0.9), SS_DECISION_DECLINE);
    assert_int_equal(ss_model_decide(m, NAN), SS_DECISION_REVIEW);
    assert_string_equal(ss_decision_name(SS_DECISION_DECLINE), "DECLINE");
    assert_string_equal(ss_decision_name(SS_DECISION_APPROVE), "APPROVE");
    ss_model_free(m);
}

static void refused(const char *version, const char *json, const char *needle)
{
    write_bundle(version, json);
    char err[512] = "";
    ss_model *m = ss_model_load_store(dir, "lr", version, err, sizeof err);
    if (m) {
        ss_model_free(m);
        fail_msg("bundle %s loaded; expected \"%s\"", version, needle);
    }
    if (!strstr(err, needle)) fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_bad_logistic_bundles(void **state)
{
    (void)state;
    refused("w",
            "{\"format\":\"streamscore.bundle/v1\",\"name\":\"lr\",\"version\":\"w\","
            "\"kind\":\"logistic\",\"features\":[\"a\",\"b\"],"
            "\"thresholds\":{\"review\":0.5,\"decline\":0.9},"
            "\"logistic\":{\"intercept\":0,\"weights\":[1,2,3]}}",
            "logistic.weights: expected an array of 2 numbers");
    refused("s",
            "{\"format\":\"streamscore.bundle/v1\",\"name\":\"lr\",\"version\":\"s\","
            "\"kind\":\"logistic\",\"features\":[\"a\",\"b\"],"
            "\"thresholds\":{\"review\":0.5,\"decline\":0.9},"
            "\"logistic\":{\"intercept\":0,\"weights\":[1,\"x\"]}}",
            "logistic.weights[1]: expected number, got string");
    refused("d",
            "{\"format\":\"streamscore.bundle/v1\",\"name\":\"lr\",\"version\":\"d\","
            "\"kind\":\"logistic\",\"features\":[\"a\",\"a\"],"
            "\"thresholds\":{\"review\":0.5,\"decline\":0.9},"
            "\"logistic\":{\"intercept\":0,\"weights\":[1,2]}}",
            "duplicate name \"a\"");
    refused("t",
            "{\"format\":\"streamscore.bundle/v1\",\"name\":\"lr\",\"version\":\"t\","
            "\"kind\":\"logistic\",\"features\":[\"a\"],"
            "\"logistic\":{\"intercept\":0,\"weights\":[1]}}",
            "\"thresholds\": expected object");
    refused("n", "{\"format\":\"streamscore.bundle/v1\",\"version\":\"n\"}", "missing \"name\"");
    refused("e", "", "bundle.json: invalid JSON");
    refused("a", "[1,2]", "bundle.json: expected an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logistic_predict_and_reasons),
        cmocka_unit_test(test_top_reasons_order),
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_bad_logistic_bundles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
