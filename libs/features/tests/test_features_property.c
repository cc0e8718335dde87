/* Property test: random event streams (several entities, out-of-order within
 * the grace period, late events, duplicates) through the real script on a real
 * redis-server. Every feature equals the brute-force recomputation from the raw
 * events; peek (request path) and update (stream path) give identical vectors;
 * replaying the stream leaves Redis state and every vector unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "brute.h"
#include "fx.h"
#include "features-internal.h"
#include "common/redis.h"
#include <jansson.h>
#include <event2/event.h>

static const char TEST_DEFS[] =
    "{\"version\": \"prop-1\", \"grace\": \"2m\",\n"
    " \"entities\": [{\"name\": \"card\", \"field\": \"card_id\", \"primary\": true},\n"
    "              {\"name\": \"merchant\", \"field\": \"merchant_id\"},\n"
    "              {\"name\": \"device\", \"field\": \"device_id\"}],\n"
    " \"categories\": [\"channel\", \"merchant_country\"],\n"
    " \"filters\": {\"declined\": {\"field\": \"auth_result\", \"equals\": \"DECLINED\"},\n"
    "             \"online\": {\"field\": \"channel\", \"in\": [\"ECOM\", \"MOTO\"]},\n"
    "             \"big\": {\"field\": \"amount\", \"gte\": 250}},\n"
    " \"features\": [\n"
    "  {\"name\": \"c_count_1m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"1m\", "
    "\"tile\": \"10s\"},\n"
    "  {\"name\": \"c_count_5m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_sum_5m\", \"entity\": \"card\", \"agg\": \"sum\", \"field\": \"amount\", "
    "\"window\": \"5m\"},\n"
    "  {\"name\": \"c_mean_10m\", \"entity\": \"card\", \"agg\": \"mean\", \"field\": \"amount\", "
    "\"window\": \"10m\"},\n"
    "  {\"name\": \"c_min_5m\", \"entity\": \"card\", \"agg\": \"min\", \"field\": \"amount\", "
    "\"window\": \"5m\"},\n"
    "  {\"name\": \"c_max_5m\", \"entity\": \"card\", \"agg\": \"max\", \"field\": \"amount\", "
    "\"window\": \"5m\"},\n"
    "  {\"name\": \"c_std_10m\", \"entity\": \"card\", \"agg\": \"stddev\", \"field\": \"amount\", "
    "\"window\": \"10m\"},\n"
    "  {\"name\": \"c_std_prev_10m\", \"entity\": \"card\", \"agg\": \"stddev\", \"field\": "
    "\"amount\", \"window\": \"10m\", \"include_current\": false},\n"
    "  {\"name\": \"c_ratio_mean_10m\", \"entity\": \"card\", \"agg\": \"ratio\", \"field\": "
    "\"amount\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_ratio_max_5m\", \"entity\": \"card\", \"agg\": \"ratio\", \"field\": "
    "\"amount\", \"of\": \"max\", \"window\": \"5m\", \"include_current\": true},\n"
    "  {\"name\": \"c_decl_count_5m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": "
    "\"5m\", \"filter\": \"declined\"},\n"
    "  {\"name\": \"c_online_sum_10m\", \"entity\": \"card\", \"agg\": \"sum\", \"field\": "
    "\"amount\", \"window\": \"10m\", \"filter\": \"online\"},\n"
    "  {\"name\": \"c_big_count_1h\", \"entity\": \"card\", \"agg\": \"count\", \"window\": "
    "\"1h\", \"filter\": \"big\"},\n"
    "  {\"name\": \"c_dist_merch_10m\", \"entity\": \"card\", \"agg\": \"distinct_count\", "
    "\"field\": \"merchant_id\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_dist_merch_online_5m\", \"entity\": \"card\", \"agg\": \"distinct_count\", "
    "\"field\": \"merchant_id\", \"window\": \"5m\", \"filter\": \"online\", \"include_current\": "
    "false},\n"
    "  {\"name\": \"c_dist_dev_1m\", \"entity\": \"card\", \"agg\": \"distinct_count\", \"field\": "
    "\"device_id\", \"window\": \"1m\", \"tile\": \"1m\"},\n"
    "  {\"name\": \"c_since\", \"entity\": \"card\", \"agg\": \"time_since_last\"},\n"
    "  {\"name\": \"c_since_declined\", \"entity\": \"card\", \"agg\": \"time_since_last\", "
    "\"filter\": \"declined\"},\n"
    "  {\"name\": \"c_last_amount\", \"entity\": \"card\", \"agg\": \"last\", \"field\": "
    "\"amount\"},\n"
    "  {\"name\": \"c_last_online_amount\", \"entity\": \"card\", \"agg\": \"last\", \"field\": "
    "\"amount\", \"filter\": \"online\"},\n"
    "  {\"name\": \"m_count_5m\", \"entity\": \"merchant\", \"agg\": \"count\", \"window\": "
    "\"5m\"},\n"
    "  {\"name\": \"m_mean_1h\", \"entity\": \"merchant\", \"agg\": \"mean\", \"field\": "
    "\"amount\", \"window\": \"1h\"},\n"
    "  {\"name\": \"m_dist_card_10m\", \"entity\": \"merchant\", \"agg\": \"distinct_count\", "
    "\"field\": \"card_id\", \"window\": \"10m\"},\n"
    "  {\"name\": \"m_since\", \"entity\": \"merchant\", \"agg\": \"time_since_last\"},\n"
    "  {\"name\": \"d_count_5m\", \"entity\": \"device\", \"agg\": \"count\", \"window\": "
    "\"5m\"},\n"
    "  {\"name\": \"d_sum_1h\", \"entity\": \"device\", \"agg\": \"sum\", \"field\": \"amount\", "
    "\"window\": \"1h\", \"tile\": \"5m\"},\n"
    "  {\"name\": \"d_last_amount\", \"entity\": \"device\", \"agg\": \"last\", \"field\": "
    "\"amount\"},\n"
    "  {\"name\": \"d_dist_card_5m\", \"entity\": \"device\", \"agg\": \"distinct_count\", "
    "\"field\": \"card_id\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_count_same_channel_10m\", \"entity\": \"card\", \"agg\": \"count\", "
    "\"window\": \"10m\", \"group_by\": \"channel\"},\n"
    "  {\"name\": \"c_mean_same_country_1h\", \"entity\": \"card\", \"agg\": \"mean\", \"field\": "
    "\"amount\", \"window\": \"1h\", \"group_by\": \"merchant_country\"},\n"
    "  {\"name\": \"m_dist_card_same_channel_5m\", \"entity\": \"merchant\", \"agg\": "
    "\"distinct_count\", \"field\": \"card_id\", \"window\": \"5m\", \"group_by\": \"channel\", "
    "\"filter\": \"big\"},\n"
    "  {\"name\": \"c_count_by_device_5m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": "
    "\"5m\", \"group_by\": \"device_id\"}\n"
    " ]}\n";

typedef struct harness {
    sst_redis redis;
    redisContext *rc; /* observer: snapshots, FLUSHALL */
    struct event_base *base;
    ss_redis *r;
    ss_features *f;
    ss_feature_defs *defs;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    ss_features_opts opts;
} harness;

static harness H;

static int setup(void **state)
{
    char err[512];
    (void)state;
    memset(&H, 0, sizeof H);
    if (sst_redis_start(&H.redis) < 0) return -1;
    H.rc = sst_redis_connect(&H.redis);
    H.defs = ss_feature_defs_parse(TEST_DEFS, sizeof TEST_DEFS - 1, "test", err, sizeof err);
    if (!H.defs) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    H.schema = fx_card_schema();
    H.iface = avro_generic_class_from_schema(H.schema);
    avro_generic_value_new(H.iface, &H.value);
    H.opts.prefix = "ss:";
    H.opts.write_online = 1;
    H.base = event_base_new();
    H.r = ss_redis_new(H.base, H.redis.url, err, sizeof err);
    H.f = ss_features_new(H.r, H.defs, &H.opts, err, sizeof err);
    if (!H.f) return -1;
    while (!ss_redis_ready(H.r))
        event_base_loop(H.base, EVLOOP_ONCE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ss_features_free(H.f);
    ss_redis_free(H.r);
    event_base_free(H.base);
    avro_value_decref(&H.value);
    avro_value_iface_decref(H.iface);
    avro_schema_decref(H.schema);
    ss_feature_defs_free(H.defs);
    if (H.rc) redisFree(H.rc);
    sst_redis_stop(&H.redis);
    return 0;
}

typedef struct outcome {
    double values[64];
    int late, duplicate, done;
    char err[256];
} outcome;

static void on_vector(const ss_feature_vector *v, const char *err, void *arg)
{
    outcome *o = arg;
    o->done = 1;
    if (!v) {
        snprintf(o->err, sizeof o->err, "%s", err);
        return;
    }
    assert_int_equal(v->n, H.defs->n_features);
    memcpy(o->values, v->values, v->n * sizeof(double));
    o->late = v->late;
    o->duplicate = v->duplicate;
}

/** Issue one call through the public async API (pipelined with the others
 * issued before the loop runs). */
static void issue(const fx_event *e, int peek, outcome *out)
{
    char err[256];
    memset(out, 0, sizeof *out);
    fx_fill(&H.value, e);
    int rc = peek ? ss_features_peek(H.f, &H.value, on_vector, out, err, sizeof err)
                  : ss_features_update(H.f, &H.value, on_vector, out, err, sizeof err);
    if (rc < 0) fail_msg("%s", err);
}

static void wait_all(outcome *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!o[i].done)
            event_base_loop(H.base, EVLOOP_ONCE);
        if (o[i].err[0]) fail_msg("%s", o[i].err);
    }
}

static int same_values(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static uint64_t rng_state = 42;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int rndn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

#define NEV 500
static fx_event events[NEV];
static outcome first[NEV];

/** A random stream: time advances, some events jump back (within grace),
 * some are late (beyond grace), some are duplicates of earlier events. */
static size_t make_stream(int seed, fx_event *out, int max_step_ms)
{
    int64_t grace = H.defs->grace_ms;
    int64_t card_max[4] = {0, 0, 0, 0};
    int last_card = 0;
    static const char *channels[] = {"POS", "ECOM", "ATM", "MOTO"};
    int64_t now = 1763970000000LL + seed * 7919;
    size_t n = 0;
    rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)seed;
    while (n < NEV) {
        fx_event *e = &out[n];
        int kind = rndn(100);
        if (kind < 8 && n > 0) { /* duplicate (redelivery of an earlier event) */
            *e = out[rndn((int)n)];
            n++;
            continue;
        }
        memset(e, 0, sizeof *e);
        now += rndn(max_step_ms);
        int card = rndn(4);
        e->t = now;
        /* late events come from the card seen last, so they stay within the tile
         * retention of the shared merchant/device streams (docs/features.md 3.3) */
        if (kind >= 30 && kind < 35) card = last_card;
        last_card = card;
        if (kind >= 8 && kind < 30)
            e->t -= rndn((int)grace - 10000);               /* out of order, within grace */
        else if (kind >= 30 && kind < 35 && card_max[card]) /* late for its card */
            e->t = card_max[card] - grace - 5000 - rndn(200000);
        if (e->t > card_max[card]) card_max[card] = e->t;
        snprintf(e->event_id, sizeof e->event_id, "ev-%d-%zu", seed, n);
        snprintf(e->card, sizeof e->card, "card%d", card);
        snprintf(e->merchant, sizeof e->merchant, "m%d", rndn(6));
        e->has_device = rndn(5) != 0;
        snprintf(e->device, sizeof e->device, "dev%d", rndn(3));
        e->amount = 0.25 * (1 + rndn(2000)); /* dyadic: sums are exact */
        e->channel = channels[rndn(4)];
        e->declined = rndn(6) - 1 > 2 ? 1 : (rndn(4) == 0 ? -1 : 0);
        snprintf(e->country, sizeof e->country, "%s", rndn(3) ? "FR" : "DE");
        n++;
    }
    return n;
}

static int close_rel(double a, double b, double rel)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-12;
}

static void check_feature(size_t fi, const fx_event *e, double got, double want, int *bad)
{
    const fd_feature *f = &H.defs->features[fi];
    int ok;
    switch (f->agg) {
    case FD_COUNT:
    case FD_SUM:
    case FD_MIN:
    case FD_MAX:
    case FD_LAST:
    case FD_SINCE:
        ok = (isnan(got) && isnan(want)) || got == want;
        break;
    case FD_DISTINCT: /* Redis HLL: 0.81% standard error; allow 3 sigma + 1 */
        ok = !isnan(got) == !isnan(want) &&
             (isnan(got) || fabs(got - want) <= 1 + 3 * 0.0081 * want);
        break;
    default:
        ok = close_rel(got, want, 1e-9);
    }
    if (!ok && (*bad)++ < 10)
        print_error("event %s (t=%lld card=%s): %s = %.17g, brute force %.17g\n", e->event_id,
                    (long long)e->t, e->card, f->name, got, want);
}

static void flush_state(void)
{
    redisReply *r = redisCommand(H.rc, "FLUSHALL");
    freeReplyObject(r);
}

static void check_stream_vs_brute_force(int nseeds, int max_step_ms)
{
    static fx_event applied[NEV];
    double want[64];
    int bad = 0, lates = 0, dups = 0, peeks_differ = 0;
    for (int seed = 1; seed <= nseeds; seed++) {
        size_t n = make_stream(seed, events, max_step_ms), napplied = 0;
        flush_state();
        /* a pipelined batch per 50 events: peek then update of each event */
        for (size_t b0 = 0; b0 < n; b0 += 50) {
            static outcome peeks[50], upds[50];
            size_t nb = n - b0 < 50 ? n - b0 : 50;
            for (size_t k = 0; k < nb; k++) {
                issue(&events[b0 + k], 1, &peeks[k]);
                issue(&events[b0 + k], 0, &upds[k]);
            }
            wait_all(peeks, nb);
            wait_all(upds, nb);
            for (size_t k = 0; k < nb; k++) {
                size_t i = b0 + k;
                const fx_event *e = &events[i];
                outcome *peek = &peeks[k], *upd = &upds[k];
                size_t dup_of = i;
                for (size_t j = 0; j < i; j++)
                    if (strcmp(events[j].event_id, e->event_id) == 0) {
                        dup_of = j;
                        break;
                    }
                if (dup_of != i) { /* redelivery: the first vector again, nothing applied */
                    dups++;
                    assert_true(upd->duplicate && peek->duplicate);
                    assert_true(same_values(upd->values, first[dup_of].values, H.defs->n_features));
                    assert_int_equal(upd->late, first[dup_of].late);
                    continue;
                }
                assert_false(upd->duplicate);
                if (!same_values(peek->values, upd->values, H.defs->n_features) ||
                    peek->late != upd->late)
                    peeks_differ++;
                first[i] = *upd;
                int late = brute_late(H.defs, applied, napplied, e);
                assert_int_equal(upd->late, late);
                lates += late;
                brute_vector(H.defs, applied, napplied, e, late, want);
                for (size_t fi = 0; fi < H.defs->n_features; fi++)
                    check_feature(fi, e, upd->values[fi], want[fi], &bad);
                if (!late) applied[napplied++] = *e;
            }
        }
    }
    print_message("# %s, steps up to %d ms: %d streams x %d events: %d late, %d duplicates, %d "
                  "mismatches, %d "
                  "peek/update differences\n",
                  H.defs->version, max_step_ms, nseeds, NEV, lates, dups, bad, peeks_differ);
    assert_true(lates > 20);
    assert_true(dups > 20);
    assert_int_equal(bad, 0);
    assert_int_equal(peeks_differ, 0);
}

static void test_matches_brute_force(void **state)
{
    (void)state;
    check_stream_vs_brute_force(3, 15000);
}

static void snapshot(ss_buf *out);

/* After the vector TTL, the event id is still remembered: a replay applies
 * nothing (every key unchanged) and is flagged duplicate. */
static void test_replay_after_vector_expiry(void **state)
{
    (void)state;
    ss_buf before, after;
    char err[256];
    static outcome again[NEV];
    size_t n = make_stream(11, events, 15000);
    ss_buf_init(&before);
    ss_buf_init(&after);
    ss_features_free(H.f);
    H.opts.dedup_ttl_ms = 1;
    H.f = ss_features_new(H.r, H.defs, &H.opts, err, sizeof err);
    flush_state();
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &first[i]);
    wait_all(first, n);
    usleep(20000); /* every stored vector has expired */
    snapshot(&before);
    assert_null(memmem(before.data, before.len, "ss:d:", 5)); /* every vector expired */
    assert_non_null(memmem(before.data, before.len, "ss:seen:", 8));
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &again[i]);
    wait_all(again, n);
    for (size_t i = 0; i < n; i++)
        assert_true(again[i].duplicate);
    snapshot(&after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    ss_features_free(H.f);
    H.opts.dedup_ttl_ms = 0;
    H.f = ss_features_new(H.r, H.defs, &H.opts, err, sizeof err);
    ss_buf_free(&before);
    ss_buf_free(&after);
}

static ss_feature_defs *use_defs(ss_feature_defs *d);

/* New definitions (another script): a redelivered event is not applied again
 * and gets a vector of the new definitions, never a stored one of the old. */
static void test_redelivery_after_definitions_change(void **state)
{
    char err[512];
    ss_buf before, after;
    static outcome again[NEV];
    (void)state;
    static char text[sizeof TEST_DEFS + 256];
    snprintf(text, sizeof text, "%s", TEST_DEFS);
    char *v = strstr(text, "prop-1");
    memcpy(v, "prop-2", 6);
    char *last = strrchr(text, ']');
    snprintf(last, sizeof text - (size_t)(last - text),
             ",{\"name\": \"c_max_1h\", \"entity\": \"card\", \"agg\": \"max\", "
             "\"field\": \"amount\", \"window\": \"1h\"}]}\n");
    ss_feature_defs *d2 = ss_feature_defs_parse(text, strlen(text), "v2", err, sizeof err);
    if (!d2) fail_msg("%s", err);
    size_t n = make_stream(13, events, 15000);
    ss_buf_init(&before);
    ss_buf_init(&after);
    flush_state();
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &first[i]);
    wait_all(first, n);
    snapshot(&before);
    ss_feature_defs *old = use_defs(d2);
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &again[i]);
    wait_all(again, n); /* no "bad script reply" errors */
    for (size_t i = 0; i < n; i++)
        assert_true(again[i].duplicate);
    use_defs(old);
    ss_feature_defs_free(d2);
    snapshot(&after);
    /* the new script stored no vectors and applied nothing */
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    ss_buf_free(&before);
    ss_buf_free(&after);
}

/** Swap the definitions under test (a fresh ss_features on the same Redis). */
static ss_feature_defs *use_defs(ss_feature_defs *d)
{
    char err[256];
    ss_feature_defs *old = H.defs;
    ss_features_free(H.f);
    H.defs = d;
    H.f = ss_features_new(H.r, H.defs, &H.opts, err, sizeof err);
    assert_non_null(H.f);
    return old;
}

/* The shipped card-fraud definitions (33 features, windows up to 30 days)
 * through the same property check. */
static void test_card_fraud_matches_brute_force(void **state)
{
    char err[512];
    (void)state;
    const char *paths[] = {"features/card_fraud.json", "../features/card_fraud.json",
                           "../../features/card_fraud.json"};
    ss_feature_defs *d = NULL;
    for (size_t i = 0; i < 3 && !d; i++)
        d = ss_feature_defs_load(paths[i], err, sizeof err);
    if (!d) fail_msg("%s", err);
    ss_feature_defs *old = use_defs(d);
    check_stream_vs_brute_force(1, 15000);
    check_stream_vs_brute_force(2, 900000); /* ~2.6 days: hour and day tiles roll */
    use_defs(old);
    ss_feature_defs_free(d);
}

/* Online vectors: the newest event's features of each entity, as JSON. */
static void test_online_vectors(void **state)
{
    (void)state;
    fx_event e[3];
    outcome o[3];
    memset(e, 0, sizeof e);
    flush_state();
    for (int i = 0; i < 3; i++) {
        snprintf(e[i].event_id, sizeof e[i].event_id, "online-%d", i);
        e[i].t = 1795500000000LL + (i == 2 ? -30000 : i * 60000); /* the third is older */
        snprintf(e[i].card, sizeof e[i].card, "cardX");
        snprintf(e[i].merchant, sizeof e[i].merchant, "m%d", i);
        e[i].has_device = 0;
        e[i].amount = 10 * (i + 1);
        e[i].channel = "ECOM";
        e[i].declined = 0;
        snprintf(e[i].country, sizeof e[i].country, "FR");
        issue(&e[i], 0, &o[i]);
    }
    wait_all(o, 3);
    redisReply *r = redisCommand(H.rc, "GET ss:online:card:cardX");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    json_error_t je;
    json_t *doc = json_loads(r->str, 0, &je);
    if (!doc) fail_msg("online vector is not JSON: %s: %s", je.text, r->str);
    /* the newest by event time is online-1, not the later-processed online-2 */
    assert_string_equal(json_string_value(json_object_get(doc, "event_id")), "online-1");
    assert_string_equal(json_string_value(json_object_get(doc, "entity")), "card");
    assert_string_equal(json_string_value(json_object_get(doc, "definitions_version")), "prop-1");
    json_t *feats = json_object_get(doc, "features");
    size_t ncard = 0;
    for (size_t fi = 0; fi < H.defs->n_features; fi++) {
        const fd_feature *f = &H.defs->features[fi];
        json_t *v = json_object_get(feats, f->name);
        if (f->entity != 0) {
            assert_null(v); /* only the card's features under the card key */
            continue;
        }
        ncard++;
        assert_non_null(v);
        if (isnan(o[1].values[fi]))
            assert_true(json_is_null(v));
        else
            assert_true(json_number_value(v) == o[1].values[fi]);
    }
    assert_int_equal(json_object_size(feats), ncard);
    json_decref(doc);
    freeReplyObject(r);
    r = redisCommand(H.rc,
                     "EXISTS ss:online:device:dev0 ss:online:merchant:m0 ss:online:merchant:m2");
    assert_int_equal(r->integer, 2); /* no device: no device vector */
    freeReplyObject(r);
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/** Every key with its type and content, sorted: equal strings = equal state. */
static void snapshot(ss_buf *out)
{
    redisReply *keys = redisCommand(H.rc, "KEYS *");
    ss_buf_reset(out);
    assert_non_null(keys);
    char **names = calloc(keys->elements + 1, sizeof *names);
    for (size_t i = 0; i < keys->elements; i++)
        names[i] = keys->element[i]->str;
    qsort(names, keys->elements, sizeof *names, strcmp_ptr);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *t = redisCommand(H.rc, "TYPE %s", names[i]);
        ss_buf_printf(out, "%s %s\n", names[i], t->str);
        if (strcmp(t->str, "string") == 0) {
            redisReply *v = redisCommand(H.rc, "GET %s", names[i]);
            ss_buf_append(out, v->str, v->len);
            freeReplyObject(v);
        } else if (strcmp(t->str, "set") == 0) {
            redisReply *v = redisCommand(H.rc, "SMEMBERS %s", names[i]);
            char **m = calloc(v->elements + 1, sizeof *m);
            for (size_t k = 0; k < v->elements; k++)
                m[k] = v->element[k]->str;
            qsort(m, v->elements, sizeof *m, strcmp_ptr);
            for (size_t k = 0; k < v->elements; k++)
                ss_buf_printf(out, " %s\n", m[k]);
            free(m);
            freeReplyObject(v);
        } else if (strcmp(t->str, "hash") == 0) {
            redisReply *v = redisCommand(H.rc, "HGETALL %s", names[i]);
            char **pairs = calloc(v->elements / 2 + 1, sizeof *pairs);
            for (size_t k = 0; k + 1 < v->elements; k += 2) {
                pairs[k / 2] = malloc(v->element[k]->len + v->element[k + 1]->len * 2 + 4);
                int p = sprintf(pairs[k / 2], "%s=", v->element[k]->str);
                for (size_t b = 0; b < v->element[k + 1]->len; b++)
                    p +=
                        sprintf(pairs[k / 2] + p, "%02x", (unsigned char)v->element[k + 1]->str[b]);
            }
            qsort(pairs, v->elements / 2, sizeof *pairs, strcmp_ptr);
            for (size_t k = 0; k < v->elements / 2; k++) {
                ss_buf_printf(out, " %s\n", pairs[k]);
                free(pairs[k]);
            }
            free(pairs);
            freeReplyObject(v);
        }
        freeReplyObject(t);
    }
    free(names);
    freeReplyObject(keys);
}

static void test_replay_leaves_state_unchanged(void **state)
{
    (void)state;
    ss_buf before, after;
    size_t n = make_stream(7, events, 15000);
    ss_buf_init(&before);
    ss_buf_init(&after);
    flush_state();
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &first[i]); /* one pipeline */
    wait_all(first, n);
    snapshot(&before);
    assert_true(before.len > 1000);
    static outcome again[NEV];
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &again[i]); /* the batch, redelivered */
    wait_all(again, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(again[i].duplicate);
        assert_true(same_values(again[i].values, first[i].values, H.defs->n_features));
        assert_int_equal(again[i].late, first[i].late);
    }
    snapshot(&after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    ss_buf_free(&before);
    ss_buf_free(&after);
}

/* Distinct-count windows name only the HLL tiles the entity hash marks; a
 * marker holds the Redis time its HLL expires. Once that has passed, the
 * entity's next write drops the marker (whichever stream it belongs to), and
 * the count no longer sees the tile. */
static void test_hll_markers_expire(void **state)
{
    (void)state;
    size_t n = make_stream(5, events, 15000);
    flush_state();
    for (size_t i = 0; i < n; i++)
        issue(&events[i], 0, &first[i]);
    wait_all(first, n);
    fx_event ev = events[n - 1];
    for (size_t i = 0; i < n; i++)
        if (strcmp(events[i].card, ev.card) == 0 && events[i].t > ev.t) ev.t = events[i].t;
    char key[96];
    snprintf(key, sizeof key, "ss:e:card:%s", ev.card);
    /* age every marker of the card and expire its HLLs */
    redisReply *h = redisCommand(H.rc, "HGETALL %s", key);
    int aged = 0;
    for (size_t k = 0; k + 1 < h->elements; k += 2)
        if (strncmp(h->element[k]->str, "h|", 2) == 0) {
            freeReplyObject(redisCommand(H.rc, "HSET %s %s 1000", key, h->element[k]->str));
            aged++;
        }
    freeReplyObject(h);
    assert_true(aged > 0);
    redisReply *ks = redisCommand(H.rc, "KEYS ss:h:card:%s:*", ev.card);
    assert_true(ks->elements > 0);
    for (size_t k = 0; k < ks->elements; k++)
        freeReplyObject(redisCommand(H.rc, "DEL %s", ks->element[k]->str));
    freeReplyObject(ks);
    /* one more event of that card, one second after its newest */
    outcome o;
    snprintf(ev.event_id, sizeof ev.event_id, "marker-expiry-1");
    ev.t += 1000;
    issue(&ev, 0, &o);
    wait_all(&o, 1);
    assert_false(o.late);
    h = redisCommand(H.rc, "HGETALL %s", key);
    int fresh = 0;
    for (size_t k = 0; k + 1 < h->elements; k += 2)
        if (strncmp(h->element[k]->str, "h|", 2) == 0) {
            assert_string_not_equal(h->element[k + 1]->str, "1000"); /* every aged one dropped */
            fresh++;
        }
    freeReplyObject(h);
    assert_true(fresh > 0); /* the new event's own tiles are marked */
    /* and the card's distinct merchants see only the new event's value */
    int seen = 0;
    for (size_t f = 0; f < H.defs->n_features; f++)
        if (strcmp(ss_feature_defs_names(H.defs)[f], "c_dist_merch_10m") == 0) {
            assert_true(o.values[f] == 1.0);
            seen = 1;
        }
    assert_true(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_replay_leaves_state_unchanged),
        cmocka_unit_test(test_hll_markers_expire),
        cmocka_unit_test(test_replay_after_vector_expiry),
        cmocka_unit_test(test_redelivery_after_definitions_change),
        cmocka_unit_test(test_card_fraud_matches_brute_force),
        cmocka_unit_test(test_online_vectors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
