/* test_validate.c - the shared bad-input table (cases.tsv) against the
 * validation library, plus the helpers (RFC 3339, UTF-8, rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/validate.h"

#define CASES "libs/events/tests/cases.tsv"

typedef struct fixture {
    ss_avro_registry *reg;
    ss_avro_codec *codec;
    ss_event_rules *rules;
} fixture;

/* A config struct embedding the rules, to prove the table fragment builds. */
typedef struct demo_config {
    char *brokers;
    ss_event_rules_config rules;
} demo_config;
static const ss_config_entry demo_table[] __attribute__((unused)) = {
    {"KAFKA_BROKERS", SS_CFG_STRING, "localhost:9092", SS_UNBOUNDED, offsetof(demo_config, brokers),
     "Kafka bootstrap servers."},
    SS_EVENT_RULES_CONFIG(demo_config, rules),
    SS_CFG_END,
};

static int setup(void **state)
{
    char err[256];
    fixture *f = calloc(1, sizeof *f);
    ss_event_rules_config cfg;
    ss_event_rules_config_defaults(&cfg);
    f->reg = ss_avro_registry_new("schemas", NULL, err, sizeof err);
    if (f->reg) f->codec = ss_avro_codec_new(f->reg, "card_transaction", NULL, err, sizeof err);
    if (f->codec)
        f->rules = ss_event_rules_new(&cfg, ss_avro_codec_schema(f->codec), err, sizeof err);
    if (!f->rules) fprintf(stderr, "setup: %s\n", err);
    *state = f;
    return f->rules ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ss_event_rules_free(f->rules);
    ss_avro_codec_free(f->codec);
    ss_avro_registry_free(f->reg);
    free(f);
    return 0;
}

static int unhex(const char *s, ss_buf *out)
{
    size_t n = strlen(s);
    if (n % 2) return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1) return -1;
        char c = (char)v;
        ss_buf_append(out, &c, 1);
    }
    return 0;
}

/* kind "big": FIELD:N -> a valid event whose FIELD holds N bytes */
static void big_event(const char *spec, ss_buf *out)
{
    char field[64];
    size_t n;
    assert_int_equal(sscanf(spec, "%63[^:]:%zu", field, &n), 2);
    json_t *j = json_loads("{\"event_id\":\"big\",\"event_time\":1764000000000,\"card_id\":\"c\","
                           "\"merchant_id\":\"m\",\"amount\":1,\"currency\":\"EUR\","
                           "\"merchant_category\":\"5411\",\"merchant_country\":\"DE\","
                           "\"channel\":\"POS\"}",
                           0, NULL);
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    s[n] = '\0';
    json_object_set_new(j, field, json_string(s));
    free(s);
    char *text = json_dumps(j, JSON_COMPACT);
    ss_buf_append(out, text, strlen(text));
    free(text);
    json_decref(j);
}

static void test_case_table(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(CASES, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int ncases = 0, failures = 0;
    ss_buf payload;
    ss_buf_init(&payload);
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (line[n - 1] == '\n') line[--n] = '\0';
        char *col[6] = {0};
        char *p = line;
        for (int i = 0; i < 6; i++) {
            col[i] = p;
            p = strchr(p, '\t');
            if (!p) break;
            *p++ = '\0';
        }
        assert_non_null(col[5]);
        const char *name = col[0], *expect = col[1], *field = col[2], *kind = col[4];
        ss_buf_reset(&payload);
        if (strcmp(kind, "json") == 0)
            ss_buf_append(&payload, col[5], strlen(col[5]));
        else if (strcmp(kind, "hex") == 0)
            assert_int_equal(unhex(col[5], &payload), 0);
        else if (strcmp(kind, "big") == 0)
            big_event(col[5], &payload);
        else
            fail_msg("%s: unknown kind %s", name, kind);
        ncases++;
        ss_event_error e = {0};
        avro_value_t *v = NULL;
        int rc = ss_event_validate_any(f->rules, f->codec, payload.data, payload.len, &v, &e);
        int ok = strcmp(expect, "ok") == 0
                     ? rc == 0
                     : rc == -1 && strcmp(e.reason, expect) == 0 && strcmp(e.field, field) == 0;
        if (!ok) {
            failures++;
            print_error("case \"%s\": want %s/%s, got rc %d %s/%s (%s)\n", name, expect, field, rc,
                        rc ? e.reason : "ok", rc ? e.field : "", rc ? e.detail : "");
        } else if (rc == 0) {
            ss_event_info info;
            assert_int_equal(ss_event_info_get(f->rules, v, &info), 0);
            assert_true(info.event_id_len > 0 && info.key_len > 0);
            assert_true(info.event_time_ms > 0);
        }
    }
    free(line);
    fclose(fp);
    ss_buf_free(&payload);
    assert_true(ncases >= 30);
    assert_int_equal(failures, 0);
}

static void test_detail_messages(void **state)
{
    fixture *f = *state;
    ss_event_error e;
    const char *j =
        "{\"event_id\":\"x\",\"event_time\":1764000000000,\"card_id\":\"c\",\"merchant_id\":"
        "\"m\",\"amount\":-3,\"currency\":\"EUR\",\"merchant_category\":\"5411\","
        "\"merchant_country\":\"DE\",\"channel\":\"POS\"}";
    avro_value_t *v = ss_avro_codec_new_value(f->codec);
    assert_int_equal(ss_event_validate_json(f->rules, j, strlen(j), v, &e), -1);
    assert_string_equal(e.reason, SS_EV_OUT_OF_RANGE);
    assert_string_equal(e.detail, "field \"amount\": -3 is below the minimum 0");
    /* RFC 3339 becomes epoch millis in the canonical value */
    const char *t =
        "{\"event_id\":\"x\",\"event_time\":\"2025-11-24T16:00:00.5+01:00\",\"card_id\":"
        "\"c\",\"merchant_id\":\"m\",\"amount\":3,\"currency\":\"EUR\","
        "\"merchant_category\":\"5411\",\"merchant_country\":\"DE\",\"channel\":"
        "\"POS\"}";
    assert_int_equal(ss_event_validate_json(f->rules, t, strlen(t), v, &e), 0);
    ss_event_info info;
    assert_int_equal(ss_event_info_get(f->rules, v, &info), 0);
    assert_true(info.event_time_ms == 1763996400500LL);
    assert_int_equal(info.key_len, 1);
    assert_memory_equal(info.key, "c", 1);
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(ss_parse_rfc3339_ms("1970-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(ss_parse_rfc3339_ms("2024-02-29T23:59:59.999Z", &ms), 0);
    assert_true(ms == 1709251199999LL);
    assert_int_equal(ss_parse_rfc3339_ms("2024-02-29 23:59:59.999999-00:30", &ms), 0);
    assert_true(ms == 1709252999999LL);
    assert_int_equal(ss_parse_rfc3339_ms("2023-02-29T00:00:00Z", &ms), -1);
    assert_int_equal(ss_parse_rfc3339_ms("2023-01-01T24:00:00Z", &ms), -1);
    assert_int_equal(ss_parse_rfc3339_ms("2023-01-01T00:00:00", &ms), -1); /* no offset */
    assert_int_equal(ss_parse_rfc3339_ms("2023-01-01T00:00:00Zjunk", &ms), -1);
    assert_int_equal(ss_parse_rfc3339_ms("2023-01-01", &ms), -1);
    assert_int_equal(ss_parse_rfc3339_ms("", &ms), -1);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(ss_utf8_valid("plain", 5));
    assert_true(ss_utf8_valid("z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80", 16));
    assert_false(ss_utf8_valid("\xff", 1));
    assert_false(ss_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(ss_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(ss_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(ss_utf8_valid("\xe2\x82", 2));         /* cut short */
}

static void test_rules_config_errors(void **state)
{
    fixture *f = *state;
    char err[256];
    ss_event_rules_config cfg;
    avro_schema_t s = ss_avro_codec_schema(f->codec);
    ss_event_rules_config_defaults(&cfg);
    cfg.amount_field = "amt";
    assert_null(ss_event_rules_new(&cfg, s, err, sizeof err));
    assert_string_equal(err,
                        "bad event rules: amount field \"amt\" is not in schema CardTransaction");
    ss_event_rules_config_defaults(&cfg);
    cfg.time_field = "card_id";
    assert_null(ss_event_rules_new(&cfg, s, err, sizeof err));
    ss_event_rules_config_defaults(&cfg);
    cfg.currencies = "EUR,usd";
    assert_null(ss_event_rules_new(&cfg, s, err, sizeof err));
    assert_string_equal(err, "bad event rules: currency \"usd\" is not three letters A-Z");

    /* a narrower currency list and amount range, and a max age */
    ss_event_rules_config_defaults(&cfg);
    cfg.currencies = "EUR, GBP";
    cfg.amount_max = 100;
    cfg.max_age_ms = 60000;
    ss_event_rules *r = ss_event_rules_new(&cfg, s, err, sizeof err);
    assert_non_null(r);
    char j[512];
    ss_event_error e;
    avro_value_t *v = ss_avro_codec_new_value(f->codec);
    snprintf(j, sizeof j,
             "{\"event_id\":\"x\",\"event_time\":%lld,\"card_id\":\"c\",\"merchant_id\":\"m\","
             "\"amount\":%s,\"currency\":\"%s\",\"merchant_category\":\"5411\","
             "\"merchant_country\":\"DE\",\"channel\":\"POS\"}",
             (long long)ss_now_ms(), "5", "GBP");
    assert_int_equal(ss_event_validate_json(r, j, strlen(j), v, &e), 0);
    snprintf(j, sizeof j,
             "{\"event_id\":\"x\",\"event_time\":%lld,\"card_id\":\"c\",\"merchant_id\":\"m\","
             "\"amount\":%s,\"currency\":\"%s\",\"merchant_category\":\"5411\","
             "\"merchant_country\":\"DE\",\"channel\":\"POS\"}",
             (long long)ss_now_ms(), "5", "USD");
    assert_int_equal(ss_event_validate_json(r, j, strlen(j), v, &e), -1);
    assert_string_equal(e.reason, SS_EV_BAD_CURRENCY);
    snprintf(j, sizeof j,
             "{\"event_id\":\"x\",\"event_time\":%lld,\"card_id\":\"c\",\"merchant_id\":\"m\","
             "\"amount\":%s,\"currency\":\"%s\",\"merchant_category\":\"5411\","
             "\"merchant_country\":\"DE\",\"channel\":\"POS\"}",
             (long long)ss_now_ms() - 3600000, "5", "EUR");
    assert_int_equal(ss_event_validate_json(r, j, strlen(j), v, &e), -1);
    assert_string_equal(e.reason, SS_EV_STALE_TIMESTAMP);
    ss_event_rules_free(r);
}

/* Every reason the library may give: a mutation must land on one of them. */
static int known_reason(const char *r)
{
    static const char *all[] = {
        SS_EV_INVALID_JSON,   SS_EV_NOT_AN_OBJECT,  SS_EV_DUPLICATE_FIELD,
        SS_EV_UNKNOWN_FIELD,  SS_EV_MISSING_FIELD,  SS_EV_WRONG_TYPE,
        SS_EV_BAD_ENUM,       SS_EV_NOT_FINITE,     SS_EV_OUT_OF_RANGE,
        SS_EV_BAD_CURRENCY,   SS_EV_BAD_TIMESTAMP,  SS_EV_FUTURE_TIMESTAMP,
        SS_EV_TOO_LONG,       SS_EV_EMPTY_STRING,   SS_EV_INVALID_UTF8,
        SS_EV_BAD_MAGIC,      SS_EV_UNKNOWN_SCHEMA, SS_EV_INCOMPATIBLE_SCHEMA,
        SS_EV_TRUNCATED_AVRO, SS_EV_TRAILING_BYTES, SS_EV_EMPTY_MESSAGE,
        SS_EV_TOO_LARGE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (r && strcmp(r, all[i]) == 0) return 1;
    return 0;
}

/* Random byte mutations of valid JSON and Avro events (deterministic seed):
 * never a crash (ASan/UBSan in CI), always a known reason or a valid event. */
static void test_mutations(void **state)
{
    fixture *f = *state;
    const char *json = "{\"event_id\":\"mut-1\",\"event_time\":\"2025-11-24T10:30:00.250+01:00\","
                       "\"card_id\":\"card-1\",\"merchant_id\":\"m\\u00e9\",\"amount\":12.5,"
                       "\"currency\":\"EUR\",\"merchant_category\":\"5411\",\"merchant_country\":"
                       "\"DE\",\"channel\":\"POS\",\"latitude\":null,\"auth_result\":\"APPROVED\"}";
    ss_buf avro;
    ss_buf_init(&avro);
    avro_value_t *v = ss_avro_codec_new_value(f->codec);
    ss_event_error e;
    assert_int_equal(ss_event_validate_json(f->rules, json, strlen(json), v, &e), 0);
    assert_int_equal(ss_avro_encode(f->codec, v, &avro, NULL, 0), 0);
    srand(11);
    char buf[512];
    int accepted = 0;
    for (int round = 0; round < 30000; round++) {
        const char *src = round % 2 ? json : avro.data;
        size_t n = round % 2 ? strlen(json) : avro.len;
        memcpy(buf, src, n);
        for (int k = 1 + rand() % 3; k > 0; k--) {
            size_t at = (size_t)rand() % n;
            switch (rand() % 3) {
            case 0:
                buf[at] = (char)rand();
                break; /* flip a byte */
            case 1:
                n = at + 1;
                break; /* truncate */
            default:
                memmove(buf + at, buf + at + 1, n - at - 1), n--; /* delete */
            }
            if (n == 0) break;
        }
        avro_value_t *out = NULL;
        memset(&e, 0, sizeof e);
        int rc = ss_event_validate_any(f->rules, f->codec, buf, n, &out, &e);
        if (rc == 0) {
            accepted++;
            ss_event_info info;
            assert_int_equal(ss_event_info_get(f->rules, out, &info), 0);
        } else if (!known_reason(e.reason)) {
            fail_msg("round %d: unknown reason %s (%s)", round, e.reason ? e.reason : "NULL",
                     e.detail);
        }
    }
    print_message("%d of 30000 mutations still valid events\n", accepted);
    ss_buf_free(&avro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_table),
        cmocka_unit_test(test_detail_messages),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_rules_config_errors),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
