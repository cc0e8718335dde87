/* test_xgb_parity.c - the C tree evaluator and TreeSHAP against XGBoost itself.
 *
 * Trains models with Debian's python3-xgboost (xgb_fixture.py) in a temporary
 * directory: several depths, 1 to 500 trees, missing values, every supported
 * objective. Predictions must be within 1e-6 of Booster.predict and
 * contributions within 1e-5 of pred_contribs, on 2000 rows per model.
 * Unsupported models (multi-class, gblinear, dart, ranking, categorical
 * splits) must be refused with a reason.
 */
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
#include "model/model.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ss-model-parity.XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "OMP_NUM_THREADS=2 /usr/bin/python3 libs/model/tests/xgb_fixture.py %s >%s/py.log 2>&1",
        tmpdir, tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "xgb_fixture.py failed, see %s/py.log\n", tmpdir);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static double *read_doubles(const char *name, const char *ext, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s", tmpdir, name, ext);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    double *d = ss_malloc(n * sizeof *d);
    assert_int_equal(fread(d, sizeof *d, n, f), n);
    fclose(f);
    return d;
}

static void check_case(const char *name, size_t nrows, size_t nfeat, const char *objective,
                       size_t ntrees)
{
    char err[1024] = "", store[512];
    snprintf(store, sizeof store, "%s/store", tmpdir);
    ss_model *m = ss_model_load_store(store, "parity", name, err, sizeof err);
    if (!m) fail_msg("%s: %s", name, err);
    assert_int_equal(ss_model_nfeatures(m), nfeat);
    assert_int_equal(ss_model_ntrees(m), ntrees);
    assert_string_equal(ss_model_objective(m), objective);

    double *x = read_doubles(name, "x", nrows * nfeat);
    double *pred = read_doubles(name, "pred", nrows);
    double *contrib = read_doubles(name, "contrib", nrows * (nfeat + 1));
    double *phi = ss_malloc((nfeat + 1) * sizeof *phi);
    double max_pred = 0, max_contrib[2] = {0, 0}, max_sum = 0;
    assert_true(ss_model_shap_tables(m)); /* these models fit the tables */
    for (int tables = 1; tables >= 0; tables--) {
        assert_int_equal(ss_model_use_shap_tables(m, tables), tables);
        for (size_t r = 0; r < nrows; r++) {
            const double *row = x + r * nfeat;
            double p = ss_model_predict(m, row);
            max_pred = fmax(max_pred, fabs(p - pred[r]));
            ss_model_contributions(m, row, phi);
            double sum = 0;
            for (size_t i = 0; i <= nfeat; i++) {
                double d = fabs(phi[i] - contrib[r * (nfeat + 1) + i]);
                max_contrib[tables] = fmax(max_contrib[tables], d);
                sum += phi[i];
            }
            max_sum = fmax(max_sum, fabs(sum - ss_model_margin(m, row)) / fmax(1, fabs(sum)));
        }
    }
    printf("# %-22s %-17s trees %4zu  max|pred diff| %.3g  max|contrib diff| tables %.3g, "
           "recursive %.3g\n",
           name, objective, ntrees, max_pred, max_contrib[1], max_contrib[0]);
    if (max_pred > 1e-6) fail_msg("%s: prediction differs from xgboost by %g", name, max_pred);
    for (int t = 0; t < 2; t++)
        if (max_contrib[t] > 1e-5)
            fail_msg("%s: contribution (%s) differs from pred_contribs by %g", name,
                     t ? "tables" : "recursive", max_contrib[t]);
    if (max_sum > 1e-4) fail_msg("%s: contributions do not sum to the margin (%g)", name, max_sum);

    /* batch API gives the same as the single-row one */
    double *batch = ss_malloc(nrows * sizeof *batch);
    ss_model_predict_rows(m, x, nrows, batch);
    for (size_t r = 0; r < nrows; r++)
        assert_true(batch[r] == ss_model_predict(m, x + r * nfeat));
    ss_free(batch);
    ss_free(phi);
    ss_free(contrib);
    ss_free(pred);
    ss_free(x);
    ss_model_free(m);
}

static void test_parity_with_xgboost(void **state)
{
    (void)state;
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/cases.txt", tmpdir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int ncases = 0;
    int seen_500 = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], obj[64];
        size_t nrows, nfeat, ntrees, depth;
        assert_int_equal(
            sscanf(line, "%127s %zu %zu %63s %zu %zu", name, &nrows, &nfeat, obj, &ntrees, &depth),
            6);
        check_case(name, nrows, nfeat, obj, ntrees);
        seen_500 |= ntrees == 500;
        ncases++;
    }
    fclose(f);
    assert_true(ncases >= 8);
    assert_true(seen_500);
}

static void expect_refused(const char *store, const char *name, const char *version,
                           const char *needle)
{
    char err[1024] = "";
    ss_model *m = ss_model_load_store(store, name, version, err, sizeof err);
    if (m) {
        ss_model_free(m);
        fail_msg("%s/%s/%s loaded, expected refusal containing \"%s\"", store, name, version,
                 needle);
    }
    printf("# refused %s: %s\n", version, err);
    if (!strstr(err, needle)) fail_msg("error \"%s\" lacks \"%s\"", err, needle);
    assert_non_null(strstr(err, "bad bundle"));
}

static void test_unsupported_models_refused(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof store, "%s/store", tmpdir);
    expect_refused(store, "bad", "multiclass", "multi-class models are not supported");
    expect_refused(store, "bad", "gblinear", "unsupported booster \"gblinear\"");
    expect_refused(store, "bad", "dart", "unsupported booster \"dart\"");
    expect_refused(store, "bad", "rank", "unsupported objective \"rank:pairwise\"");
    expect_refused(store, "bad", "categorical", "categorical splits are not supported");
}

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

/* Copy a good bundle to <tmpdir>/store/broken/<version> for one kind of damage. */
static void copy_good(const char *version)
{
    sh("mkdir -p %s/store/broken && rm -rf %s/store/broken/%s && "
       "cp -r %s/store/parity/logistic-d3-t20 %s/store/broken/%s && "
       "sed -i 's/\"parity\"/\"broken\"/; s/\"logistic-d3-t20\"/\"%s\"/' "
       "%s/store/broken/%s/bundle.json",
       tmpdir, tmpdir, version, tmpdir, tmpdir, version, version, tmpdir, version);
}

static void test_damaged_bundles_refused(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof store, "%s/store", tmpdir);

    copy_good("ok");
    char err[512];
    ss_model *m = ss_model_load_store(store, "broken", "ok", err, sizeof err);
    if (!m) fail_msg("copy of a good bundle refused: %s", err);
    ss_model_free(m);

    copy_good("truncated");
    sh("truncate -s 5000 %s/store/broken/truncated/model.json", tmpdir);
    expect_refused(store, "broken", "truncated", "model.json: invalid JSON");

    copy_good("corrupt-manifest");
    sh("printf '{\"format\": \"streamscore.bundle/v1\", \"name\": ' > "
       "%s/store/broken/corrupt-manifest/bundle.json",
       tmpdir);
    expect_refused(store, "broken", "corrupt-manifest", "bundle.json: invalid JSON");

    copy_good("corrupt-model");
    sh("sed -i 's/\"split_conditions\"/\"split_conditionz\"/' "
       "%s/store/broken/corrupt-model/model.json",
       tmpdir);
    expect_refused(store, "broken", "corrupt-model", "missing \"split_conditions\" in tree 0");

    copy_good("bad-child");
    sh("sed -i '0,/\"left_children\":\\[1,/s//\"left_children\":[0,/' "
       "%s/store/broken/bad-child/model.json",
       tmpdir);
    expect_refused(store, "broken", "bad-child", "bad children");

    copy_good("wrong-count");
    sh("sed -i 's/\"f_7\"/\"f_7\", \"f_8\"/' %s/store/broken/wrong-count/bundle.json", tmpdir);
    expect_refused(store, "broken", "wrong-count",
                   "wrong feature count: model has 8 features, bundle lists 9");

    copy_good("no-model");
    sh("rm %s/store/broken/no-model/model.json", tmpdir);
    expect_refused(store, "broken", "no-model", "model.json: cannot open: No such file");

    copy_good("bad-kind");
    sh("sed -i 's/\"xgboost\"/\"lightgbm\"/' %s/store/broken/bad-kind/bundle.json", tmpdir);
    expect_refused(store, "broken", "bad-kind", "unsupported kind \"lightgbm\"");

    copy_good("bad-format");
    sh("sed -i 's|streamscore.bundle/v1|streamscore.bundle/v9|' "
       "%s/store/broken/bad-format/bundle.json",
       tmpdir);
    expect_refused(store, "broken", "bad-format", "unsupported format");

    copy_good("escape");
    sh("sed -i 's|\"model.json\"|\"../ok/model.json\"|' %s/store/broken/escape/bundle.json",
       tmpdir);
    expect_refused(store, "broken", "escape", "must be a file inside the bundle");

    copy_good("thresholds");
    sh("sed -i 's/\"review\": 0.5/\"review\": 0.95/' %s/store/broken/thresholds/bundle.json",
       tmpdir);
    expect_refused(store, "broken", "thresholds", "above thresholds.decline");

    copy_good("mismatch");
    expect_refused(store, "broken", "nonexistent", "no such bundle directory");
    sh("sed -i 's/\"mismatch\"/\"other\"/' %s/store/broken/mismatch/bundle.json", tmpdir);
    expect_refused(store, "broken", "mismatch", "manifest says broken/other");

    err[0] = 0;
    assert_null(ss_model_load_store(store, "..", "x", err, sizeof err));
    assert_non_null(strstr(err, "bad bundle reference"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_with_xgboost),
        cmocka_unit_test(test_unsupported_models_refused),
        cmocka_unit_test(test_damaged_bundles_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
