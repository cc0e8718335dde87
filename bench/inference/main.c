/* bench/inference - tree inference: the streamscore C evaluator against the
 * ceiling libxgboost's XGBoosterPredictFromDense, on the same model file and
 * the same rows, in one run. Both single-threaded (nthread=1).
 *
 *   inference STORE ROWS_FILE NROWS NFEAT [REPEAT]
 *
 * Prints single-row latency and batch rows/s of both, the TreeSHAP cost, the
 * max absolute difference of the predictions, and the single-row speed ratio
 * (libxgboost latency / C latency) last.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "common/util.h"
#include "model/model.h"

#define XGB_CHECK(call)                                                                            \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "inference: %s: %s\n", #call, XGBGetLastError());                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *predict_config =
    "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0,"
    " \"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";

static const float *xgb_predict(BoosterHandle h, const float *rows, size_t nrows, size_t nfeat)
{
    char iface[256];
    snprintf(iface, sizeof iface,
             "{\"data\": [%lu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long)(uintptr_t)rows, nrows, nfeat);
    const bst_ulong *shape;
    bst_ulong dim;
    const float *out;
    XGB_CHECK(XGBoosterPredictFromDense(h, iface, predict_config, NULL, &shape, &dim, &out));
    return out;
}

static float *read_rows(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    float *x = ss_malloc(n * sizeof *x);
    if (fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "inference: %s: short file\n", path);
        exit(1);
    }
    fclose(f);
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: inference STORE ROWS_FILE NROWS NFEAT [REPEAT]\n");
        return 2;
    }
    const char *store = argv[1];
    size_t nrows = strtoul(argv[3], NULL, 10), nfeat = strtoul(argv[4], NULL, 10);
    int repeat = argc > 5 ? atoi(argv[5]) : 3;
    float *rows = read_rows(argv[2], nrows * nfeat);

    char err[1024];
    ss_model *m = ss_model_load_store(store, "bench", "v1", err, sizeof err);
    if (!m) {
        fprintf(stderr, "inference: %s\n", err);
        return 1;
    }
    if (ss_model_nfeatures(m) != nfeat) {
        fprintf(stderr, "inference: model has %zu features, rows have %zu\n", ss_model_nfeatures(m),
                nfeat);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/bench/v1/model.json", store);
    BoosterHandle h;
    XGB_CHECK(XGBoosterCreate(NULL, 0, &h));
    XGB_CHECK(XGBoosterLoadModel(h, path));
    XGB_CHECK(XGBoosterSetParam(h, "nthread", "1"));
    int major, minor, patch;
    XGBoostVersion(&major, &minor, &patch);
    printf("model: %zu trees, %zu features, %zu rows; libxgboost %d.%d.%d loaded the JSON saved "
           "by python3-xgboost\n",
           ss_model_ntrees(m), nfeat, nrows, major, minor, patch);

    /* agreement first: every row, both ways */
    double *ours = ss_malloc(nrows * sizeof *ours);
    double max_diff = 0;
    const float *theirs = xgb_predict(h, rows, nrows, nfeat);
    for (size_t r = 0; r < nrows; r++) {
        ours[r] = ss_model_predict_f(m, rows + r * nfeat);
        max_diff = fmax(max_diff, fabs(ours[r] - (double)theirs[r]));
    }
    for (size_t r = 0; r < nrows; r++) { /* single-row API agrees too */
        double d = fabs((double)*xgb_predict(h, rows + r * nfeat, 1, nfeat) - ours[r]);
        max_diff = fmax(max_diff, d);
    }

    double best_xgb1 = 1e30, best_c1 = 1e30, best_xgbb = 1e30, best_cb = 1e30, best_shap = 1e30,
           best_shap_rec = 1e30;
    volatile double sink = 0;
    double *phi = ss_malloc((nfeat + 1) * sizeof *phi);
    double *xd = ss_malloc(nfeat * sizeof *xd);
    for (int rep = 0; rep < repeat; rep++) {
        int64_t t0 = ss_mono_us();
        for (size_t r = 0; r < nrows; r++)
            sink += *xgb_predict(h, rows + r * nfeat, 1, nfeat);
        int64_t t1 = ss_mono_us();
        for (size_t r = 0; r < nrows; r++)
            sink += ss_model_predict_f(m, rows + r * nfeat);
        int64_t t2 = ss_mono_us();
        sink += xgb_predict(h, rows, nrows, nfeat)[nrows - 1];
        int64_t t3 = ss_mono_us();
        for (size_t r = 0; r < nrows; r++)
            sink += ss_model_predict_f(m, rows + r * nfeat);
        int64_t t4 = ss_mono_us();
        size_t nshap = nrows < 2000 ? nrows : 2000;
        for (size_t r = 0; r < nshap; r++) {
            for (size_t i = 0; i < nfeat; i++)
                xd[i] = rows[r * nfeat + i];
            ss_model_contributions(m, xd, phi);
            sink += phi[0];
        }
        int64_t t5 = ss_mono_us();
        ss_model_use_shap_tables(m, 0);
        size_t nrec = nshap < 300 ? nshap : 300;
        for (size_t r = 0; r < nrec; r++) {
            for (size_t i = 0; i < nfeat; i++)
                xd[i] = rows[r * nfeat + i];
            ss_model_contributions(m, xd, phi);
            sink += phi[0];
        }
        int64_t t6 = ss_mono_us();
        ss_model_use_shap_tables(m, 1);
        best_shap_rec = fmin(best_shap_rec, (double)(t6 - t5) / nrec);
        best_xgb1 = fmin(best_xgb1, (double)(t1 - t0) / nrows);
        best_c1 = fmin(best_c1, (double)(t2 - t1) / nrows);
        best_xgbb = fmin(best_xgbb, (double)(t3 - t2) / nrows);
        best_cb = fmin(best_cb, (double)(t4 - t3) / nrows);
        best_shap = fmin(best_shap, (double)(t5 - t4) / nshap);
    }
    printf("libxgboost PredictFromDense single row: %8.2f us/row  %10.0f rows/s\n", best_xgb1,
           1e6 / best_xgb1);
    printf("streamscore C evaluator single row:     %8.2f us/row  %10.0f rows/s\n", best_c1,
           1e6 / best_c1);
    printf("libxgboost PredictFromDense batch:      %8.2f us/row  %10.0f rows/s\n", best_xgbb,
           1e6 / best_xgbb);
    printf("streamscore C evaluator batch:          %8.2f us/row  %10.0f rows/s\n", best_cb,
           1e6 / best_cb);
    printf("streamscore TreeSHAP, leaf tables:      %8.2f us/row  (%s)\n", best_shap,
           ss_model_shap_tables(m) ? "in use" : "too large, recursive");
    printf("streamscore TreeSHAP, recursive:        %8.2f us/row\n", best_shap_rec);
    printf("batch ratio (libxgboost / C): %.2f\n", best_xgbb / best_cb);
    printf("max abs diff: %.3g\n", max_diff);
    printf("ratio: %.2f\n", best_xgb1 / best_c1);

    ss_free(xd);
    ss_free(phi);
    ss_free(ours);
    XGBoosterFree(h);
    ss_model_free(m);
    ss_free(rows);
    return max_diff <= 1e-6 ? 0 : 1;
}
