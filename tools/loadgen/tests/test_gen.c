/* test_gen.c - properties of the synthetic traffic: determinism by seed, fraud
 * rate, every pattern present and distinguishable, drift, diurnal shape,
 * invalid events invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "gen.h"
#include "invalid.h"

#define T0 1795000000000LL /* a fixed start: 2026-11-18T09:46:40Z */

static lg_config small_config(uint64_t seed)
{
    lg_config c;
    lg_config_defaults(&c);
    c.seed = seed;
    c.start_ms = T0;
    c.ncards = 5000;
    c.nmerchants = 500;
    return c;
}

static void hash_stream(const lg_config *c, int n, uint64_t *hash)
{
    lg_gen *g = lg_gen_new(c);
    ss_buf b;
    ss_buf_init(&b);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    lg_event ev;
    for (int i = 0; i < n; i++) {
        ss_buf_reset(&b);
        lg_gen_next(g, &ev);
        lg_event_json(&ev, &b);
        for (size_t k = 0; k < b.len; k++)
            h = (h ^ (unsigned char)b.data[k]) * 1099511628211ULL;
        h = (h ^ (unsigned)ev.pattern) * 1099511628211ULL;
    }
    *hash = h;
    ss_buf_free(&b);
    lg_gen_free(g);
}

static void test_same_seed_same_stream(void **state)
{
    (void)state;
    lg_config a = small_config(7), b = small_config(7), c = small_config(8);
    uint64_t ha, hb, hc;
    hash_stream(&a, 20000, &ha);
    hash_stream(&b, 20000, &hb);
    hash_stream(&c, 20000, &hc);
    assert_true(ha == hb);
    assert_false(ha == hc);
}

typedef struct stats {
    int n, fraud, by_pattern[LG_NPATTERNS];
    double amount_sum[LG_NPATTERNS];
    int ecom[LG_NPATTERNS];
    int foreign[LG_NPATTERNS]; /* merchant country != card country */
    int64_t last_time;
    int out_of_order;
    int drifted;
    double legit_amount_before, legit_amount_after;
    int legit_before, legit_after;
} stats;

static void collect(const lg_config *c, int n, stats *s)
{
    memset(s, 0, sizeof *s);
    lg_gen *g = lg_gen_new(c);
    lg_event ev;
    for (int i = 0; i < n; i++) {
        lg_gen_next(g, &ev);
        s->n++;
        s->fraud += lg_is_fraud(&ev);
        s->by_pattern[ev.pattern]++;
        s->amount_sum[ev.pattern] += ev.amount;
        s->ecom[ev.pattern] += ev.channel == LG_ECOM;
        s->foreign[ev.pattern] += strcmp(ev.merchant_country, ev.card_country) != 0;
        if (ev.event_time < s->last_time) s->out_of_order++;
        s->last_time = ev.event_time;
        s->drifted += ev.drifted;
        if (ev.pattern == LG_LEGIT) {
            if (ev.drifted) {
                s->legit_amount_after += ev.amount;
                s->legit_after++;
            } else {
                s->legit_amount_before += ev.amount;
                s->legit_before++;
            }
        }
        assert_true(ev.amount > 0 && isfinite(ev.amount));
        assert_true(strncmp(ev.event_id, "tx", 2) == 0);
    }
    lg_gen_free(g);
}

static void test_fraud_rate_and_order(void **state)
{
    (void)state;
    lg_config c = small_config(42);
    stats s;
    collect(&c, 100000, &s);
    double rate = (double)s.fraud / s.n;
    print_message("fraud rate %.4f (ct %d ato %d rl %d ring %d)\n", rate,
                  s.by_pattern[LG_CARD_TESTING], s.by_pattern[LG_ACCOUNT_TAKEOVER],
                  s.by_pattern[LG_RISKY_LARGE], s.by_pattern[LG_FRAUD_RING]);
    assert_true(rate >= 0.005 && rate <= 0.02);
    assert_int_equal(s.out_of_order, 0);
    for (int p = 1; p < LG_NPATTERNS; p++)
        assert_true(s.by_pattern[p] >= 20);

    c.fraud_rate = 0.02;
    collect(&c, 100000, &s);
    rate = (double)s.fraud / s.n;
    assert_true(rate >= 0.013 && rate <= 0.03);
}

static double mean(const stats *s, lg_pattern p)
{
    return s->amount_sum[p] / s->by_pattern[p];
}

static void test_patterns_have_their_signature(void **state)
{
    (void)state;
    lg_config c = small_config(3);
    stats s;
    collect(&c, 100000, &s);
    /* card testing: mostly tiny amounts, always online */
    assert_true(mean(&s, LG_CARD_TESTING) < 0.5 * mean(&s, LG_LEGIT));
    assert_int_equal(s.ecom[LG_CARD_TESTING], s.by_pattern[LG_CARD_TESTING]);
    /* takeover: online, abroad, large */
    assert_int_equal(s.ecom[LG_ACCOUNT_TAKEOVER], s.by_pattern[LG_ACCOUNT_TAKEOVER]);
    assert_int_equal(s.foreign[LG_ACCOUNT_TAKEOVER], s.by_pattern[LG_ACCOUNT_TAKEOVER]);
    assert_true(mean(&s, LG_ACCOUNT_TAKEOVER) > 3 * mean(&s, LG_LEGIT));
    /* risky large: large */
    assert_true(mean(&s, LG_RISKY_LARGE) > 10 * mean(&s, LG_LEGIT));
    /* legitimate traffic is mostly domestic */
    print_message("legit foreign share %.3f\n",
                  (double)s.foreign[LG_LEGIT] / s.by_pattern[LG_LEGIT]);
    assert_true(s.foreign[LG_LEGIT] < 0.3 * s.by_pattern[LG_LEGIT]);
}

static void test_ring_devices_are_shared(void **state)
{
    (void)state;
    lg_config c = small_config(5);
    lg_gen *g = lg_gen_new(&c);
    lg_event ev;
    /* device -> distinct cards seen, for ring events */
    json_t *devices = json_object();
    for (int i = 0; i < 100000; i++) {
        lg_gen_next(g, &ev);
        if (ev.pattern != LG_FRAUD_RING) continue;
        assert_true(ev.device_id[0] != '\0');
        json_t *cards = json_object_get(devices, ev.device_id);
        if (!cards) json_object_set_new(devices, ev.device_id, cards = json_object());
        json_object_set_new(cards, ev.card_id, json_true());
    }
    size_t shared = 0;
    const char *k;
    json_t *v;
    json_object_foreach(devices, k, v) shared += json_object_size(v) >= 3;
    assert_true(json_object_size(devices) > 0);
    assert_true(shared >= json_object_size(devices) / 2);
    json_decref(devices);
    lg_gen_free(g);
}

static void test_drift_shifts_distribution(void **state)
{
    (void)state;
    lg_config c = small_config(9);
    c.drift_at_ms = T0 + 50 * 1000; /* ~50k events at 1000/s */
    stats s;
    collect(&c, 100000, &s);
    assert_true(s.drifted > 30000 && s.drifted < 70000);
    double before = s.legit_amount_before / s.legit_before;
    double after = s.legit_amount_after / s.legit_after;
    print_message("legit mean amount before %.2f after %.2f\n", before, after);
    assert_true(after > 1.3 * before);
}

static void test_diurnal_rate(void **state)
{
    (void)state;
    lg_config c = small_config(1);
    c.start_ms = 1795046400000LL; /* 2026-11-18T20:00:00Z... any midnight-aligned day */
    c.start_ms -= c.start_ms % 86400000LL;
    lg_gen *g = lg_gen_new(&c);
    double night = lg_gen_rate_at(g, c.start_ms + 3 * 3600000LL);
    double afternoon = lg_gen_rate_at(g, c.start_ms + 15 * 3600000LL);
    assert_true(fabs(night - 700) < 1e-6 && fabs(afternoon - 1300) < 1e-6);
    /* the generated stream follows it: count events in a minute at 03:00 and 15:00 */
    lg_gen_free(g);
    c.rate = 50;
    int counts[2];
    for (int k = 0; k < 2; k++) {
        c.start_ms -= c.start_ms % 86400000LL;
        c.start_ms += (k ? 15 : 3) * 3600000LL;
        g = lg_gen_new(&c);
        lg_event ev;
        counts[k] = 0;
        for (;;) {
            lg_gen_next(g, &ev);
            if (ev.event_time >= c.start_ms + 600000) break;
            counts[k]++;
        }
        lg_gen_free(g);
    }
    print_message("10 min at 03:00: %d events, at 15:00: %d\n", counts[0], counts[1]);
    assert_true(counts[1] > 1.5 * counts[0]);
}

static void test_invalid_events_are_invalid(void **state)
{
    (void)state;
    lg_config c = small_config(2);
    lg_gen *g = lg_gen_new(&c);
    lg_event ev;
    lg_gen_next(g, &ev);
    ss_buf b;
    ss_buf_init(&b);
    for (int k = 0; k < LG_NBAD; k++) {
        if (lg_bad_is_avro(k)) continue;
        ss_buf_reset(&b);
        lg_bad_json(k, &ev, &b);
        json_error_t jerr;
        json_t *j = json_loads(b.data, 0, &jerr);
        switch (k) {
        case LG_BAD_MALFORMED:
            assert_null(j);
            break;
        case LG_BAD_MISSING_FIELD:
            assert_null(json_object_get(j, "card_id"));
            break;
        case LG_BAD_WRONG_TYPE:
            assert_true(json_is_string(json_object_get(j, "amount")));
            break;
        case LG_BAD_ENUM:
            assert_string_equal(json_string_value(json_object_get(j, "channel")), "TELEPATHY");
            break;
        case LG_BAD_NEGATIVE:
            assert_true(json_real_value(json_object_get(j, "amount")) < 0);
            break;
        case LG_BAD_NOT_OBJECT:
            assert_true(json_is_array(j));
            break;
        }
        if (j && json_is_object(j)) {
            const char *id = json_string_value(json_object_get(j, "event_id"));
            assert_non_null(strstr(id, "-bad"));
        }
        json_decref(j);
        assert_int_equal(lg_bad_parse(lg_bad_name(k)), k);
    }
    /* a valid event is valid JSON with every schema field */
    ss_buf_reset(&b);
    lg_event_json(&ev, &b);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 15);
    json_decref(j);
    ss_buf_free(&b);
    lg_gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_fraud_rate_and_order),
        cmocka_unit_test(test_patterns_have_their_signature),
        cmocka_unit_test(test_ring_devices_are_shared),
        cmocka_unit_test(test_drift_shifts_distribution),
        cmocka_unit_test(test_diurnal_rate),
        cmocka_unit_test(test_invalid_events_are_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
