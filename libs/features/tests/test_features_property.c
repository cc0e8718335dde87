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
    "  {\"name\": \"c_count_1m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"1m\", \"tile\": \"10s\"},\n"
    "  {\"name\": \"c_count_5m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_sum_5m\", \"entity\": \"card\", \"agg\": \"sum\", \"field\": \"amount\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_mean_10m\", \"entity\": \"card\", \"agg\": \"mean\", \"field\": \"amount\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_min_5m\", \"entity\": \"card\", \"agg\": \"min\", \"field\": \"amount\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_max_5m\", \"entity\": \"card\", \"agg\": \"max\", \"field\": \"amount\", \"window\": \"5m\"},\n"
    "  {\"name\": \"c_std_10m\", \"entity\": \"card\", \"agg\": \"stddev\", \"field\": \"amount\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_std_prev_10m\", \"entity\": \"card\", \"agg\": \"stddev\", \"field\": \"amount\", \"window\": \"10m\", \"include_current\": false},\n"
    "  {\"name\": \"c_ratio_mean_10m\", \"entity\": \"card\", \"agg\": \"ratio\", \"field\": \"amount\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_ratio_max_5m\", \"entity\": \"card\", \"agg\": \"ratio\", \"field\": \"amount\", \"of\": \"max\", \"window\": \"5m\", \"include_current\": true},\n"
    "  {\"name\": \"c_decl_count_5m\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"5m\", \"filter\": \"declined\"},\n"
    "  {\"name\": \"c_online_sum_10m\", \"entity\": \"card\", \"agg\": \"sum\", \"field\": \"amount\", \"window\": \"10m\", \"filter\": \"online\"},\n"
    "  {\"name\": \"c_big_count_1h\", \"entity\": \"card\", \"agg\": \"count\", \"window\": \"1h\", \"filter\": \"big\"},\n"
    "  {\"name\": \"c_dist_merch_10m\", \"entity\": \"card\", \"agg\": \"distinct_count\", \"field\": \"merchant_id\", \"window\": \"10m\"},\n"
    "  {\"name\": \"c_dist_merch_online_5m\", \"entity\": \"card\", \"agg\": \"distinct_count\", \"field\": \"merchant_id\", \"window\": \"5m\", \"filter\": \"online\", \"include_current\": false},\n"
    "  {\"name\": \"c_dist_dev_1m\", \"entity\": \"card\", \"agg\": \"distinct_count\", \"field\": \"device_id\", \"window\": \"1m\", \"tile\": \"1m\"},\n"
    "  {\"name\": \"c_since\", \"entity\": \"card\", \"agg\": \"time_since_last\"},\n"
    "  {\"name\": \"c_since_declined\", \"entity\": \"card\", \"agg\": \"time_since_last\", \"filter\": \"declined\"},\n"
    "  {\"name\": \"c_last_amount\", \"entity\": \"card\", \"agg\": \"last\", \"field\": \"amount\"},\n"
    "  {\"name\": \"c_last_online_amount\", \"entity\": \"card\", \"agg\": \"last\", \"field\": \"amount\", \"filter\": \"online\"},\n"
    "  {\"name\": \"m_count_5m\", \"entity\": \"merchant\", \"agg\": \"count\", \"window\": \"5m\"},\n"
    "  {\"name\": \"m_mean_1h\", \"entity\": \"merchant\", \"agg\": \"mean\", \"field\": \"amount\", \"window\": \"1h\"},\n"
    "  {\"name\": \"m_dist_card_10m\", \"entity\": \"merchant\", \"agg\": \"distinct_count\", \"field\": \"card_id\", \"window\": \"10m\"},\n"
    "  {\"name\": \"m_since\", \"entity\": \"merchant\", \"agg\": \"time_since_last\"},\n"
    "  {\"name\": \"d_count_5m\", \"entity\": \"device\", \"agg\": \"count\", \"window\": \"5m\"},\n"
    "  {\"name\": \"d_sum_1h\", \"entity\": \"device\", \"agg\": \"sum\", \"field\": \"amount\", \"window\": \"1h\", \"tile\": \"5m\"},\n"
    "  {\"name\": \"d_last_amount\", \"entity\": \"device\", \"agg\": \"last\", \"field\": \"amount\"},\n"
    "  {\"name\": \"d_dist_card_5m\", \"entity\": \"device\", \"agg\": \"distinct_count\", \"field\": \"card_id\", \"window\": \"5m\"}\n"
    " ]}\n";

typedef struct harness {
    fx_redis redis;
    redisContext *rc;
    ss_feature_defs *defs;
    char sha[64];
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    ss_features_opts opts;
} harness;

static harness H;

static int setup(void **state) {
    char err[512];
    (void)state;
    memset(&H, 0, sizeof H);
    if (fx_redis_start(&H.redis) < 0) return -1;
    H.rc = fx_redis_connect(&H.redis);
    H.defs = ss_feature_defs_parse(TEST_DEFS, sizeof TEST_DEFS - 1, "test", err, sizeof err);
    if (!H.defs) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    redisReply *r = redisCommand(H.rc, "SCRIPT LOAD %s", ss_feature_defs_lua(H.defs));
    if (!r || r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "script load: %s\n", r ? r->str : "no reply");
        return -1;
    }
    snprintf(H.sha, sizeof H.sha, "%s", r->str);
    freeReplyObject(r);
    H.schema = fx_card_schema();
    H.iface = avro_generic_class_from_schema(H.schema);
    avro_generic_value_new(H.iface, &H.value);
    H.opts.prefix = "ss:";
    H.opts.write_online = 1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    avro_value_decref(&H.value);
    avro_value_iface_decref(H.iface);
    avro_schema_decref(H.schema);
    ss_feature_defs_free(H.defs);
    if (H.rc) redisFree(H.rc);
    fx_redis_stop(&H.redis);
    return 0;
}

/** The same script call the async path makes, over a blocking connection. */
typedef struct outcome {
    double values[64];
    int late, duplicate;
} outcome;

static void run(const fx_event *e, int peek, outcome *out) {
    fd_call c;
    fd_result res;
    const char **argv;
    const size_t *argvlen;
    char err[256];
    fd_call_init(&c);
    fx_fill(&H.value, e);
    assert_int_equal(fd_call_build(&c, H.defs, &H.opts, &H.value, peek, 1000, err, sizeof err), 0);
    fd_call_argv(&c, &argv, &argvlen);
    size_t n = c.argc + 3;
    const char **av = malloc(n * sizeof *av);
    size_t *al = malloc(n * sizeof *al);
    av[0] = "EVALSHA"; al[0] = 7;
    av[1] = H.sha; al[1] = strlen(H.sha);
    av[2] = "1"; al[2] = 1;
    for (size_t i = 0; i < c.argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = argvlen[i];
    }
    redisReply *r = redisCommandArgv(H.rc, (int)n, av, al);
    free(av);
    free(al);
    if (fd_result_from_reply(&res, H.defs, &c, r, err, sizeof err) < 0) fail_msg("%s", err);
    memcpy(out->values, res.v.values, res.v.n * sizeof(double));
    out->late = res.v.late;
    out->duplicate = res.v.duplicate;
    fd_result_free(&res);
    freeReplyObject(r);
    fd_call_free(&c);
}

static int same_values(const double *a, const double *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

static uint64_t rng_state = 42;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int rndn(int n) { return (int)(rnd() % (uint64_t)n); }

#define NEV 500
static fx_event events[NEV];
static outcome first[NEV];

/** A random stream: time advances, some events jump back (within grace),
 * some are late (beyond grace), some are duplicates of earlier events. */
static size_t make_stream(int seed, fx_event *out) {
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
        now += rndn(15000);
        e->t = now;
        if (kind >= 8 && kind < 30) e->t -= rndn(110000);          /* out of order, within 2m */
        else if (kind >= 30 && kind < 35) e->t -= 125000 + rndn(200000); /* late */
        snprintf(e->event_id, sizeof e->event_id, "ev-%d-%zu", seed, n);
        snprintf(e->card, sizeof e->card, "card%d", rndn(4));
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

static int close_rel(double a, double b, double rel) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-12;
}

static void check_feature(size_t fi, const fx_event *e, double got, double want, int *bad) {
    const fd_feature *f = &H.defs->features[fi];
    int ok;
    switch (f->agg) {
    case FD_COUNT: case FD_SUM: case FD_MIN: case FD_MAX: case FD_LAST: case FD_SINCE:
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

static void flush_state(void) {
    redisReply *r = redisCommand(H.rc, "FLUSHALL");
    freeReplyObject(r);
}

static void test_matches_brute_force(void **state) {
    (void)state;
    static fx_event applied[NEV];
    double want[64];
    int bad = 0, lates = 0, dups = 0, peeks_differ = 0;
    for (int seed = 1; seed <= 3; seed++) {
        size_t n = make_stream(seed, events), napplied = 0;
        flush_state();
        for (size_t i = 0; i < n; i++) {
            const fx_event *e = &events[i];
            outcome peek, upd;
            size_t dup_of = i;
            for (size_t j = 0; j < i; j++)
                if (strcmp(events[j].event_id, e->event_id) == 0) {
                    dup_of = j;
                    break;
                }
            run(e, 1, &peek);
            run(e, 0, &upd);
            if (dup_of != i) { /* redelivery: the first vector again, nothing applied */
                dups++;
                assert_true(upd.duplicate && peek.duplicate);
                assert_true(same_values(upd.values, first[dup_of].values, H.defs->n_features));
                assert_int_equal(upd.late, first[dup_of].late);
                continue;
            }
            assert_false(upd.duplicate);
            if (!same_values(peek.values, upd.values, H.defs->n_features) || peek.late != upd.late)
                peeks_differ++;
            first[i] = upd;
            int late = brute_late(H.defs, applied, napplied, e);
            assert_int_equal(upd.late, late);
            lates += late;
            brute_vector(H.defs, applied, napplied, e, late, want);
            for (size_t fi = 0; fi < H.defs->n_features; fi++)
                check_feature(fi, e, upd.values[fi], want[fi], &bad);
            if (!late) applied[napplied++] = *e;
        }
    }
    print_message("# 3 streams x %d events: %d late, %d duplicates, %d mismatches, %d peek/update "
                  "differences\n", NEV, lates, dups, bad, peeks_differ);
    assert_true(lates > 20);
    assert_true(dups > 20);
    assert_int_equal(bad, 0);
    assert_int_equal(peeks_differ, 0);
}

static int strcmp_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/** Every key with its type and content, sorted: equal strings = equal state. */
static void snapshot(ss_buf *out) {
    redisReply *keys = redisCommand(H.rc, "KEYS *");
    ss_buf_reset(out);
    assert_non_null(keys);
    char **names = calloc(keys->elements + 1, sizeof *names);
    for (size_t i = 0; i < keys->elements; i++) names[i] = keys->element[i]->str;
    qsort(names, keys->elements, sizeof *names,
          strcmp_ptr);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *t = redisCommand(H.rc, "TYPE %s", names[i]);
        ss_buf_printf(out, "%s %s\n", names[i], t->str);
        if (strcmp(t->str, "string") == 0) {
            redisReply *v = redisCommand(H.rc, "GET %s", names[i]);
            ss_buf_append(out, v->str, v->len);
            freeReplyObject(v);
        } else if (strcmp(t->str, "hash") == 0) {
            redisReply *v = redisCommand(H.rc, "HGETALL %s", names[i]);
            char **pairs = calloc(v->elements / 2 + 1, sizeof *pairs);
            for (size_t k = 0; k + 1 < v->elements; k += 2) {
                pairs[k / 2] = malloc(v->element[k]->len + v->element[k + 1]->len * 2 + 4);
                int p = sprintf(pairs[k / 2], "%s=", v->element[k]->str);
                for (size_t b = 0; b < v->element[k + 1]->len; b++)
                    p += sprintf(pairs[k / 2] + p, "%02x", (unsigned char)v->element[k + 1]->str[b]);
            }
            qsort(pairs, v->elements / 2, sizeof *pairs,
                  strcmp_ptr);
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

static void test_replay_leaves_state_unchanged(void **state) {
    (void)state;
    ss_buf before, after;
    size_t n = make_stream(7, events);
    ss_buf_init(&before);
    ss_buf_init(&after);
    flush_state();
    for (size_t i = 0; i < n; i++) {
        outcome o;
        run(&events[i], 0, &o);
        first[i] = o;
    }
    snapshot(&before);
    assert_true(before.len > 1000);
    for (size_t i = 0; i < n; i++) { /* the whole batch, redelivered */
        outcome o;
        run(&events[i], 0, &o);
        assert_true(o.duplicate);
        assert_true(same_values(o.values, first[i].values, H.defs->n_features));
        assert_int_equal(o.late, first[i].late);
    }
    snapshot(&after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    ss_buf_free(&before);
    ss_buf_free(&after);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_replay_leaves_state_unchanged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
