/* test_score.c - the scorer's stages without Kafka: serving bundles and their
 * refusal (the old one keeps serving), FeatureVector -> inputs, Score records
 * (encoded with the project's codec, decoded back). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "scorer.h"
#include "fixture_store.h"

static char store[256];
static ss_avro_registry *reg;

static int setup(void **state)
{
    (void)state;
    if (fixture_store_make(store, sizeof store, "/tmp/ss-scorer-test.XXXXXX") < 0) return -1;
    char err[512];
    reg = ss_avro_registry_new("schemas", NULL, err, sizeof err);
    if (!reg) fprintf(stderr, "%s\n", err);
    return reg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ss_avro_registry_free(reg);
    ss_metrics_reset();
    return fixture_store_remove(store);
}

static const char *active_version(scorer_models *m)
{
    return m->slot[SCORER_ACTIVE].model ? ss_model_version(m->slot[SCORER_ACTIVE].model) : "";
}

static void test_refused_bundles_keep_old_serving(void **state)
{
    (void)state;
    scorer_models m;
    scorer_models_init(&m, store, "card-fraud");
    char err[1024];
    assert_int_equal(scorer_models_load(&m, SCORER_ACTIVE, "v1", err, sizeof err), 0);
    assert_string_equal(active_version(&m), "v1");
    const ss_model *v1 = m.slot[SCORER_ACTIVE].model;
    double reloads = ss_metric_value(m.reloads[SCORER_ACTIVE]);

    const char *bad[] = {"bad-corrupt", "bad-truncated", "bad-wrongcount", "bad-multiclass",
                         "no-such-version"};
    const char *why[] = {"bundle.json: invalid JSON", "model.json: invalid JSON",
                         "wrong feature count", "multi-class models are not supported",
                         "no such bundle directory"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(scorer_models_load(&m, SCORER_ACTIVE, bad[i], err, sizeof err), -1);
        if (!strstr(err, why[i])) fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i], err, why[i]);
        assert_ptr_equal(m.slot[SCORER_ACTIVE].model, v1); /* the same object serves on */
        assert_true(ss_metric_value(m.failures[SCORER_ACTIVE]) == (double)(i + 1));
    }

    /* a registry pointer to a refused version is not retried on every poll */
    ss_registry_state st = {0};
    strcpy(st.active, "bad-truncated");
    scorer_models_apply(&m, &st);
    double failures = ss_metric_value(m.failures[SCORER_ACTIVE]);
    scorer_models_apply(&m, &st);
    scorer_models_apply(&m, &st);
    assert_true(ss_metric_value(m.failures[SCORER_ACTIVE]) == failures);
    assert_string_equal(active_version(&m), "v1");

    /* a good version swaps in; shadow set and cleared */
    strcpy(st.active, "v2");
    strcpy(st.shadow, "v3");
    scorer_models_apply(&m, &st);
    assert_string_equal(active_version(&m), "v2");
    assert_non_null(m.slot[SCORER_SHADOW].model);
    assert_string_equal(ss_model_version(m.slot[SCORER_SHADOW].model), "v3");
    assert_true(ss_metric_value(m.reloads[SCORER_ACTIVE]) == reloads + 1);
    st.shadow[0] = 0;
    scorer_models_apply(&m, &st);
    assert_null(m.slot[SCORER_SHADOW].model);
    /* an absent active pointer does not stop serving */
    st.active[0] = 0;
    scorer_models_apply(&m, &st);
    assert_string_equal(active_version(&m), "v2");
    assert_int_equal(scorer_models_ready(&m, err, sizeof err), 1);
    scorer_models_free(&m);
    assert_int_equal(scorer_models_ready(&m, err, sizeof err), 0);
}

/* Loads on the loader thread: a version the registry moved away from while
 * it loaded is discarded, the newer one loads next; a failing one is refused
 * and the serving one stays. */
static void run_until(struct event_base *base, scorer_models *m, const char *version)
{
    int64_t end = ss_mono_us() + 10 * 1000000;
    while (ss_mono_us() < end) {
        const ss_model *cur = m->slot[SCORER_ACTIVE].model;
        if (cur && strcmp(ss_model_version(cur), version) == 0 && !m->job[SCORER_ACTIVE]) return;
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    fail_msg("version %s not serving within 10 s", version);
}

static void test_loader_thread(void **state)
{
    (void)state;
    char err[512];
    struct event_base *base = event_base_new();
    /* registry polls go nowhere (nothing listens): the test drives the state */
    ss_redis *r = ss_redis_new(base, "redis://127.0.0.1:1", err, sizeof err);
    assert_non_null(r);
    scorer_models m;
    scorer_models_init(&m, store, "card-fraud");
    assert_int_equal(scorer_models_load(&m, SCORER_ACTIVE, "v1", err, sizeof err), 0);
    scorer_models_watch(&m, base, r, 60000);
    double reloads = ss_metric_value(m.reloads[SCORER_ACTIVE]);

    ss_registry_state st = {0};
    strcpy(st.active, "v2");
    scorer_models_apply(&m, &st);
    assert_non_null(m.job[SCORER_ACTIVE]); /* loading off the loop */
    assert_string_equal(active_version(&m), "v1");
    strcpy(st.active, "v1-again-not"); /* the pointer moves on while v2 loads ... */
    scorer_models_apply(&m, &st);
    strcpy(st.active, "v3"); /* ... and settles on v3 */
    scorer_models_apply(&m, &st);
    run_until(base, &m, "v3");
    assert_null(m.slot[SCORER_SHADOW].model);
    /* v2 was loaded but never served: one swap, straight to v3 */
    assert_true(ss_metric_value(m.reloads[SCORER_ACTIVE]) == reloads + 1);

    double failures = ss_metric_value(m.failures[SCORER_ACTIVE]);
    strcpy(st.active, "bad-wrongcount");
    scorer_models_apply(&m, &st);
    int64_t end = ss_mono_us() + 10 * 1000000;
    while (m.job[SCORER_ACTIVE] && ss_mono_us() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_true(ss_metric_value(m.failures[SCORER_ACTIVE]) == failures + 1);
    assert_string_equal(active_version(&m), "v3");

    /* freeing with a load in flight waits for it */
    strcpy(st.active, "v2");
    scorer_models_apply(&m, &st);
    ss_redis_free(r);
    scorer_models_free(&m);
    event_base_free(base);
}

static void set_feature(avro_value_t *map, const char *name, double v)
{
    avro_value_t elem, branch;
    assert_int_equal(avro_value_add(map, name, &elem, NULL, NULL), 0);
    if (isnan(v)) {
        assert_int_equal(avro_value_set_branch(&elem, 0, &branch), 0);
        assert_int_equal(avro_value_set_null(&branch), 0);
    } else {
        assert_int_equal(avro_value_set_branch(&elem, 1, &branch), 0);
        assert_int_equal(avro_value_set_double(&branch, v), 0);
    }
}

static void test_inputs_and_score_record(void **state)
{
    (void)state;
    char err[1024];
    ss_model *model = ss_model_load_store(store, "card-fraud", "v1", err, sizeof err);
    if (!model) fail_msg("%s", err);

    ss_avro_codec *fvc = ss_avro_codec_new(reg, "FeatureVector", NULL, err, sizeof err);
    assert_non_null(fvc);
    avro_value_t *fv = ss_avro_codec_new_value(fvc);
    avro_value_t map;
    assert_int_equal(avro_value_get_by_name(fv, "features", &map, NULL), 0);
    set_feature(&map, "card_txn_count_1h", 7);
    set_feature(&map, "card_amount_sum_24h", NAN); /* null */
    set_feature(&map, "card_amount_ratio_mean_30d", 4.5);
    set_feature(&map, "not_a_model_feature", 1);
    double x[8];
    size_t absent = scorer_inputs_from_map(model, &map, x);
    assert_int_equal(absent, 8 - 3);
    assert_true(x[0] == 7 && isnan(x[1]) && x[2] == 4.5 && isnan(x[3]));

    scorer_result r;
    scorer_score(model, x, &r);
    assert_true(r.score > 0 && r.score < 1);
    assert_true(r.score == ss_model_predict(model, x));
    assert_int_equal(r.decision, ss_model_decide(model, r.score));
    assert_true(r.nreasons >= 1 && r.nreasons <= 3);

    ss_avro_codec *sc = ss_avro_codec_new(reg, "Score", NULL, err, sizeof err);
    assert_non_null(sc);
    avro_value_t *out = ss_avro_codec_new_value(sc);
    scorer_event ev = {"e-1", "card-9", 1764000000000};
    assert_int_equal(
        scorer_fill_score(out, model, SCORER_SHADOW, &ev, &r, x, 1764000000123, err, sizeof err),
        0);
    ss_buf buf;
    ss_buf_init(&buf);
    assert_int_equal(ss_avro_encode(sc, out, &buf, err, sizeof err), 0);
    avro_value_t *back = NULL;
    assert_int_equal(ss_avro_decode(sc, buf.data, buf.len, &back, err, sizeof err), 0);
    json_t *j = ss_avro_to_json(back);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("# %s\n", text);
    assert_string_equal(json_string_value(json_object_get(j, "event_id")), "e-1");
    assert_string_equal(json_string_value(json_object_get(j, "entity_id")), "card-9");
    assert_string_equal(json_string_value(json_object_get(j, "model_version")), "v1");
    assert_string_equal(json_string_value(json_object_get(j, "model_name")), "card-fraud");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "SHADOW");
    assert_string_equal(json_string_value(json_object_get(j, "decision")),
                        ss_decision_name(r.decision));
    assert_true(json_real_value(json_object_get(j, "score")) == r.score);
    json_t *reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), r.nreasons);
    const char *first = json_string_value(json_object_get(json_array_get(reasons, 0), "feature"));
    assert_string_equal(first, ss_model_feature(model, (size_t)r.reasons[0].feature));
    free(text);
    json_decref(j);

    json_t *reply = scorer_result_json(model, "e-1", &r, x);
    assert_true(
        json_is_null(json_object_get(json_object_get(reply, "features"), "card_amount_sum_24h")));
    assert_string_equal(json_string_value(json_object_get(reply, "model_version")), "v1");
    json_decref(reply);

    ss_buf_free(&buf);
    ss_avro_codec_free(sc);
    ss_avro_codec_free(fvc);
    ss_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_bundles_keep_old_serving),
        cmocka_unit_test(test_inputs_and_score_record),
        cmocka_unit_test(test_loader_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
