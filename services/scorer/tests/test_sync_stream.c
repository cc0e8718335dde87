/* test_sync_stream.c - the synchronous path and the stream path give the same
 * score for the same event and state.
 *
 * Against a real redis-server and the card-fraud feature definitions, a
 * sequence of events (3 cards, shared merchants and devices, some nulls) is
 * taken event by event:
 *   sync:   ss_features_peek -> scorer_inputs_from_vector -> scorer_score
 *           (what POST /v1/score does)
 *   stream: ss_features_update -> FeatureVector Avro (encoded and decoded
 *           with the topic codec) -> scorer_inputs_from_map -> scorer_score
 *           (what the features service and the scorer's consumer do)
 * Scores, decisions and reasons must be identical.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "features/features.h"
#include "scorer.h"
#include "sstest/redis_server.h"
#include "fixture_store.h"

static char store[256];
static sst_redis server;

static int setup(void **state)
{
    (void)state;
    if (fixture_store_make(store, sizeof store, "/tmp/ss-sync-stream.XXXXXX") < 0) return -1;
    return sst_redis_start(&server);
}

static int teardown(void **state)
{
    (void)state;
    sst_redis_stop(&server);
    return fixture_store_remove(store);
}

typedef struct harness {
    struct event_base *base;
    const ss_model *model;
    ss_avro_codec *fv_codec;
    int done;
    scorer_result res;
    double x[64];
    char err[512];
} harness;

static void on_peek(const ss_feature_vector *v, const char *err, void *arg)
{
    harness *h = arg;
    h->done = 1;
    if (!v) {
        snprintf(h->err, sizeof h->err, "peek: %s", err);
        return;
    }
    scorer_inputs_from_vector(h->model, v, h->x);
    scorer_score(h->model, h->x, &h->res);
}

static void on_update(const ss_feature_vector *v, const char *err, void *arg)
{
    harness *h = arg;
    h->done = 1;
    if (!v) {
        snprintf(h->err, sizeof h->err, "update: %s", err);
        return;
    }
    /* the stream: FeatureVector on the wire, decoded by the scorer's codec */
    avro_value_t *fv = ss_avro_codec_new_value(h->fv_codec);
    ss_buf buf;
    ss_buf_init(&buf);
    avro_value_t *back = NULL, features;
    if (ss_feature_vector_to_avro(v, fv, h->err, sizeof h->err) < 0 ||
        ss_avro_encode(h->fv_codec, fv, &buf, h->err, sizeof h->err) < 0 ||
        ss_avro_decode(h->fv_codec, buf.data, buf.len, &back, h->err, sizeof h->err) < 0 ||
        avro_value_get_by_name(back, "features", &features, NULL) != 0) {
        ss_buf_free(&buf);
        return;
    }
    scorer_inputs_from_map(h->model, &features, h->x);
    scorer_score(h->model, h->x, &h->res);
    ss_buf_free(&buf);
}

static void run_until_done(harness *h)
{
    int64_t end = ss_mono_us() + 10 * 1000000;
    while (!h->done && ss_mono_us() < end)
        event_base_loop(h->base, EVLOOP_ONCE);
    if (!h->done) fail_msg("no answer from the features library within 10 s");
    if (h->err[0]) fail_msg("%s", h->err);
}

static void test_sync_equals_stream(void **state)
{
    (void)state;
    char err[1024], url[64];
    harness h = {0};
    h.base = event_base_new();
    snprintf(url, sizeof url, "%s", server.url);
    ss_redis *r = ss_redis_new(h.base, url, err, sizeof err);
    assert_non_null(r);
    ss_feature_defs *defs = ss_feature_defs_load("features/card_fraud.json", err, sizeof err);
    if (!defs) fail_msg("%s", err);
    ss_features *f = ss_features_new(r, defs, NULL, err, sizeof err);
    if (!f) fail_msg("%s", err);
    ss_avro_registry *reg = ss_avro_registry_new("schemas", NULL, err, sizeof err);
    assert_non_null(reg);
    ss_avro_codec *ev_codec = ss_avro_codec_new(reg, "CardTransaction", NULL, err, sizeof err);
    h.fv_codec = ss_avro_codec_new(reg, "FeatureVector", NULL, err, sizeof err);
    assert_non_null(ev_codec);
    assert_non_null(h.fv_codec);
    ss_model *model = ss_model_load_store(store, "card-fraud", "v1", err, sizeof err);
    if (!model) fail_msg("%s", err);
    h.model = model;
    size_t n = ss_model_nfeatures(model);
    assert_true(n <= 64);

    const char *channels[] = {"POS", "ECOM", "ATM", "MOTO"};
    int64_t t = 1764000000000;
    int differ_from_first = 0;
    double first_score = NAN;
    for (int i = 0; i < 40; i++) {
        char body[1024];
        t += 1000 * (30 + (i * 37) % 400);
        snprintf(body, sizeof body,
                 "{\"event_id\":\"p-%d\",\"event_time\":%lld,\"card_id\":\"card-%d\","
                 "\"merchant_id\":\"m-%d\",\"device_id\":%s,\"amount\":%.2f,\"currency\":\"EUR\","
                 "\"merchant_category\":\"5411\",\"merchant_country\":\"%s\",\"channel\":\"%s\","
                 "\"auth_result\":%s}",
                 i, (long long)t, i % 3, i % 5, i % 4 ? "\"d-1\"" : "null", 10.0 + (i * 53) % 900,
                 i % 6 ? "FR" : "DE", channels[i % 4], i % 9 ? "\"APPROVED\"" : "\"DECLINED\"");
        json_error_t jerr;
        json_t *j = json_loads(body, 0, &jerr);
        assert_non_null(j);
        avro_value_t *ev = ss_avro_codec_new_value(ev_codec);
        if (ss_avro_from_json(ev, j, err, sizeof err, NULL) < 0) fail_msg("event %d: %s", i, err);
        json_decref(j);

        h.done = 0;
        assert_int_equal(ss_features_peek(f, ev, on_peek, &h, err, sizeof err), 0);
        run_until_done(&h);
        scorer_result sync = h.res;
        double xs[64];
        memcpy(xs, h.x, n * sizeof *xs);

        h.done = 0;
        assert_int_equal(ss_features_update(f, ev, on_update, &h, err, sizeof err), 0);
        run_until_done(&h);
        scorer_result stream = h.res;

        for (size_t k = 0; k < n; k++)
            if (!(xs[k] == h.x[k] || (isnan(xs[k]) && isnan(h.x[k]))))
                fail_msg("event %d: feature %s: sync %g, stream %g", i, ss_model_feature(model, k),
                         xs[k], h.x[k]);
        if (sync.score != stream.score)
            fail_msg("event %d: sync score %.17g, stream score %.17g", i, sync.score, stream.score);
        assert_int_equal(sync.decision, stream.decision);
        assert_int_equal(sync.nreasons, stream.nreasons);
        for (size_t k = 0; k < sync.nreasons; k++) {
            assert_int_equal(sync.reasons[k].feature, stream.reasons[k].feature);
            assert_true(sync.reasons[k].contribution == stream.reasons[k].contribution);
        }
        if (i == 0) first_score = sync.score;
        differ_from_first += sync.score != first_score;
    }
    /* the state mattered: scores moved as history built up */
    assert_true(differ_from_first > 0);

    ss_model_free(model);
    ss_avro_codec_free(h.fv_codec);
    ss_avro_codec_free(ev_codec);
    ss_avro_registry_free(reg);
    ss_features_free(f);
    ss_redis_free(r);
    ss_feature_defs_free(defs);
    event_base_free(h.base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_equals_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
