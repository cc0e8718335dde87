/* test_avro.c - registry, Confluent framing, resolution, JSON conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avro-internal.h"
#include "common/avro.h"

static const char *samples[][2] = {
    {"card_transaction",
     "{\"event_id\":\"e-1\",\"event_time\":1764000000123,\"card_id\":\"card-9\",\"merchant_id\":"
     "\"m-1\",\"device_id\":\"dev-3\",\"amount\":12.5,\"currency\":\"EUR\",\"merchant_category\":"
     "\"5411\",\"merchant_country\":\"DE\",\"card_country\":null,\"channel\":\"ECOM\","
     "\"auth_result\":\"DECLINED\",\"latitude\":52.52,\"longitude\":-13.4,\"ip_address\":"
     "\"203.0.113.7\"}"},
    {"feature_vector",
     "{\"event_id\":\"e-1\",\"event_time\":1,\"entity_id\":\"card-9\",\"entities\":{\"card\":"
     "\"card-9\",\"merchant\":\"m-1\"},\"features\":{\"amount_sum_1h\":12.5,\"count_1d\":null},"
     "\"categories\":{\"channel\":\"ECOM\"},\"definitions_version\":\"v3\",\"late\":true,"
     "\"computed_at\":2}"},
    {"score",
     "{\"event_id\":\"e-1\",\"entity_id\":\"card-9\",\"event_time\":1,\"model_name\":\"card-"
     "fraud\","
     "\"model_version\":\"7\",\"role\":\"SHADOW\",\"score\":0.25,\"decision\":\"REVIEW\","
     "\"reasons\":[{\"feature\":\"f1\",\"value\":1.5,\"contribution\":0.75},{\"feature\":\"f2\","
     "\"value\":null,\"contribution\":-0.5}],\"scored_at\":3}"},
    {"label",
     "{\"event_id\":\"e-1\",\"entity_id\":\"card-9\",\"label\":1,\"event_time\":1,\"label_time\":"
     "99,\"source\":\"chargeback\"}"},
    {"drift_result",
     "{\"window_start\":1,\"window_end\":2,\"window_events\":1000,\"model_name\":\"card-fraud\","
     "\"model_version\":\"7\",\"feature\":\"amount\",\"metric\":\"psi\",\"value\":0.31,"
     "\"threshold\":0.25,\"status\":\"ALERT\",\"computed_at\":3}"},
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

typedef struct fixture {
    ss_avro_registry *reg;
    char err[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->reg = ss_avro_registry_new("schemas", NULL, f->err, sizeof f->err);
    if (!f->reg) fprintf(stderr, "registry: %s\n", f->err);
    *state = f;
    return f->reg ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ss_avro_registry_free(f->reg);
    free(f);
    return 0;
}

static ss_avro_codec *codec(fixture *f, const char *name)
{
    ss_avro_codec *c = ss_avro_codec_new(f->reg, name, NULL, f->err, sizeof f->err);
    if (!c) fail_msg("codec %s: %s", name, f->err);
    return c;
}

/* JSON text -> framed bytes with codec c. */
static void encode_json(ss_avro_codec *c, const char *text, ss_buf *out)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    avro_value_t *v = ss_avro_codec_new_value(c);
    char err[256];
    if (ss_avro_from_json(v, j, err, sizeof err, NULL)) fail_msg("from_json: %s", err);
    json_decref(j);
    ss_buf_reset(out);
    assert_int_equal(ss_avro_encode(c, v, out, err, sizeof err), 0);
}

static void test_registry_lookup(void **state)
{
    fixture *f = *state;
    avro_schema_t a = ss_avro_registry_schema(f->reg, "CardTransaction");
    assert_non_null(a);
    assert_ptr_equal(ss_avro_registry_schema(f->reg, "streamscore.CardTransaction"), a);
    assert_ptr_equal(ss_avro_registry_schema(f->reg, "card_transaction"), a);
    assert_ptr_equal(ss_avro_registry_schema(f->reg, "card_transaction.avsc"), a);
    assert_null(ss_avro_registry_schema(f->reg, "NoSuchThing"));
    assert_null(ss_avro_registry_schema(f->reg, "other.CardTransaction"));
    /* the history version is found by file, never by record name */
    avro_schema_t v0 = ss_avro_registry_schema(f->reg, "history/card_transaction.v0");
    assert_non_null(v0);
    assert_ptr_not_equal(v0, a);
    assert_int_equal(ss_avro_registry_local_id(f->reg, "card_transaction"), 1);
    assert_int_equal(ss_avro_registry_local_id(f->reg, "history/card_transaction.v0"), 6);
    assert_ptr_equal(ss_avro_registry_schema_by_id(f->reg, 1, NULL, 0), a);
    char err[128];
    assert_null(ss_avro_registry_schema_by_id(f->reg, 4242, err, sizeof err));
    assert_string_equal(err, "bad avro: unknown schema id 4242");
    assert_int_equal(ss_avro_registry_register(f->reg, "x-value", a, err, sizeof err), 1);
}

static void test_round_trip_every_schema(void **state)
{
    fixture *f = *state;
    ss_buf buf;
    ss_buf_init(&buf);
    for (size_t i = 0; i < NSAMPLES; i++) {
        ss_avro_codec *c = codec(f, samples[i][0]);
        encode_json(c, samples[i][1], &buf);
        assert_true(buf.len > 5);
        assert_int_equal(buf.data[0], 0);
        int32_t id = ss_avro_codec_schema_id(c);
        assert_int_equal(((uint8_t)buf.data[4]), id);
        avro_value_t *v = NULL;
        if (ss_avro_decode(c, buf.data, buf.len, &v, f->err, sizeof f->err))
            fail_msg("%s: %s", samples[i][0], f->err);
        json_t *got = ss_avro_to_json(v), *want = json_loads(samples[i][1], 0, NULL);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_SORT_KEYS);
            fail_msg("%s: round trip differs: %s", samples[i][0], g);
        }
        /* the decoded value is reused, not rebuilt */
        avro_value_t *again = NULL;
        assert_int_equal(ss_avro_decode(c, buf.data, buf.len, &again, NULL, 0), 0);
        assert_ptr_equal(v, again);
        json_decref(got);
        json_decref(want);
        ss_avro_codec_free(c);
    }
    ss_buf_free(&buf);
}

static void expect_decode_error(ss_avro_codec *c, const void *p, size_t n, ss_avro_errcode code,
                                const char *msg)
{
    char err[256] = "";
    avro_value_t *v = NULL;
    assert_int_equal(ss_avro_decode(c, p, n, &v, err, sizeof err), -1);
    assert_int_equal(ss_avro_codec_errcode(c), code);
    if (msg && strcmp(err, msg) != 0) fail_msg("error \"%s\", expected \"%s\"", err, msg);
}

static void test_framing_errors(void **state)
{
    fixture *f = *state;
    ss_avro_codec *c = codec(f, "card_transaction");
    ss_buf buf;
    ss_buf_init(&buf);
    encode_json(c, samples[0][1], &buf);

    expect_decode_error(c, "", 0, SS_AVRO_E_EMPTY, "bad avro: empty message");
    expect_decode_error(c, "{\"a\":1}", 7, SS_AVRO_E_MAGIC, "bad avro: wrong magic byte 0x7b");
    expect_decode_error(c, "\0\0\0", 3, SS_AVRO_E_TRUNCATED,
                        "bad avro: truncated at byte 3 (header is 5 bytes)");
    expect_decode_error(c, "\0\0\0\0\x63\x02", 6, SS_AVRO_E_UNKNOWN_ID,
                        "bad avro: unknown schema id 99");
    expect_decode_error(c, "\0\x80\0\0\0", 5, SS_AVRO_E_UNKNOWN_ID,
                        "bad avro: unknown schema id -2147483648");
    /* every proper prefix of a valid record is truncated, never a crash */
    for (size_t n = 5; n < buf.len; n++)
        expect_decode_error(c, buf.data, n, SS_AVRO_E_TRUNCATED, NULL);
    /* trailing garbage */
    ss_buf_append(&buf, "xyz", 3);
    expect_decode_error(c, buf.data, buf.len, SS_AVRO_E_TRAILING,
                        "bad avro: 3 trailing bytes after the record (schema id 1)");
    /* a record of another schema cannot be read as a card transaction */
    ss_avro_codec *label = codec(f, "label");
    encode_json(label, samples[3][1], &buf);
    expect_decode_error(c, buf.data, buf.len, SS_AVRO_E_INCOMPATIBLE, NULL);
    /* a correct record still decodes after all that */
    encode_json(c, samples[0][1], &buf);
    avro_value_t *v;
    assert_int_equal(ss_avro_decode(c, buf.data, buf.len, &v, NULL, 0), 0);
    ss_avro_codec_free(label);
    ss_avro_codec_free(c);
    ss_buf_free(&buf);
}

/* Random corruption of a valid record: any outcome but a crash or a leak. */
static void test_corruption_never_crashes(void **state)
{
    fixture *f = *state;
    ss_avro_codec *c = codec(f, "score");
    ss_buf buf;
    ss_buf_init(&buf);
    encode_json(c, samples[2][1], &buf);
    srand(7);
    char copy[512];
    assert_true(buf.len < sizeof copy);
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, buf.data, buf.len);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++)
            copy[5 + rand() % (int)(buf.len - 5)] = (char)rand();
        avro_value_t *v;
        if (ss_avro_decode(c, copy, buf.len, &v, NULL, 0) == 0) json_decref(ss_avro_to_json(v));
    }
    /* a huge array count in a tiny message is refused before avro-c allocates */
    const uint8_t huge[] = {0, 0, 0, 0, 3, 2, 'e', 2, 'c', 0,    2,    'm',  2,    'v', 0,
                            0, 0, 0, 0, 0, 0, 0,   0, 2,   0xfe, 0xff, 0xff, 0xff, 0x0f};
    expect_decode_error(c, huge, sizeof huge, SS_AVRO_E_TRUNCATED, NULL);
    ss_avro_codec_free(c);
    ss_buf_free(&buf);
}

static void expect_json_error(ss_avro_codec *c, const char *text, int flags,
                              ss_avro_json_errkind kind, const char *field, const char *msg)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    ss_avro_json_error e;
    assert_int_equal(ss_avro_from_json_ex(ss_avro_codec_new_value(c), j, flags, &e), -1);
    json_decref(j);
    if (e.kind != kind || strcmp(e.field, field) != 0)
        fail_msg("%s: got kind %d field \"%s\" (%s), want kind %d field \"%s\"", text, e.kind,
                 e.field, e.msg, kind, field);
    if (msg && strcmp(e.msg, msg) != 0) fail_msg("message \"%s\", want \"%s\"", e.msg, msg);
}

#define CT_BASE                                                                                    \
    "\"event_id\":\"e\",\"event_time\":1,\"card_id\":\"c\",\"merchant_id\":\"m\",\"currency\":"    \
    "\"EUR\",\"merchant_category\":\"5411\",\"merchant_country\":\"DE\""

static void test_json_errors_name_the_field(void **state)
{
    fixture *f = *state;
    ss_avro_codec *c = codec(f, "card_transaction");
    expect_json_error(c, "{" CT_BASE ",\"amount\":\"12\",\"channel\":\"POS\"}", 0,
                      SS_AVRO_JSON_WRONG_TYPE, "amount",
                      "field \"amount\": expected number, got string");
    expect_json_error(c, "{" CT_BASE ",\"channel\":\"POS\"}", 0, SS_AVRO_JSON_MISSING, "amount",
                      "field \"amount\": required field is missing");
    expect_json_error(c, "{" CT_BASE ",\"amount\":null,\"channel\":\"POS\"}", 0,
                      SS_AVRO_JSON_MISSING, "amount", "field \"amount\": required field is null");
    expect_json_error(c, "{" CT_BASE ",\"amount\":1.5,\"channel\":\"BOGUS\"}", 0,
                      SS_AVRO_JSON_BAD_ENUM, "channel",
                      "field \"channel\": unknown symbol \"BOGUS\" (expected one of POS, ECOM, "
                      "ATM, MOTO)");
    expect_json_error(c,
                      "{" CT_BASE ",\"amount\":1.5,\"channel\":\"POS\",\"auth_result\":\"MAYBE\"}",
                      0, SS_AVRO_JSON_BAD_ENUM, "auth_result", NULL);
    expect_json_error(c, "{" CT_BASE ",\"amount\":1.5,\"channel\":\"POS\",\"latitude\":\"north\"}",
                      0, SS_AVRO_JSON_WRONG_TYPE, "latitude",
                      "field \"latitude\": expected null or double, got string");
    expect_json_error(c, "{" CT_BASE ",\"amount\":1.5,\"channel\":\"POS\",\"device_id\":7}", 0,
                      SS_AVRO_JSON_WRONG_TYPE, "device_id", NULL);
    expect_json_error(c, "{" CT_BASE ",\"amount\":1.5,\"channel\":\"POS\",\"event_time\":1.5}", 0,
                      SS_AVRO_JSON_WRONG_TYPE, "event_time",
                      "field \"event_time\": expected integer, got 1.5");
    expect_json_error(c, "{" CT_BASE ",\"amount\":true,\"channel\":\"POS\"}", 0,
                      SS_AVRO_JSON_WRONG_TYPE, "amount", NULL);
    expect_json_error(c, "{" CT_BASE ",\"amount\":1,\"channel\":\"POS\",\"colour\":\"red\"}",
                      SS_AVRO_JSON_STRICT, SS_AVRO_JSON_UNKNOWN_FIELD, "colour", NULL);
    expect_json_error(c, "[1,2]", 0, SS_AVRO_JSON_WRONG_TYPE, "", "expected object, got array");
    /* without STRICT, unknown keys are ignored */
    json_t *j =
        json_loads("{" CT_BASE ",\"amount\":1,\"channel\":\"POS\",\"colour\":\"red\"}", 0, NULL);
    assert_int_equal(ss_avro_from_json_ex(ss_avro_codec_new_value(c), j, 0, NULL), 0);
    json_decref(j);
    /* the simple API reports the field too */
    const char *bad = NULL;
    char err[256];
    j = json_loads("{" CT_BASE ",\"amount\":\"x\",\"channel\":\"POS\"}", 0, NULL);
    assert_int_equal(ss_avro_from_json(ss_avro_codec_new_value(c), j, err, sizeof err, &bad), -1);
    assert_string_equal(bad, "amount");
    json_decref(j);
    ss_avro_codec_free(c);

    ss_avro_codec *l = codec(f, "label");
    expect_json_error(
        l,
        "{\"event_id\":\"e\",\"entity_id\":\"c\",\"label\":3000000000,\"event_time\":1,"
        "\"label_time\":2}",
        0, SS_AVRO_JSON_OUT_OF_RANGE, "label",
        "field \"label\": 3000000000 is out of range for int");
    expect_json_error(l,
                      "{\"event_id\":\"e\",\"entity_id\":\"c\",\"label\":1,\"event_time\":1e300,"
                      "\"label_time\":2}",
                      0, SS_AVRO_JSON_OUT_OF_RANGE, "event_time", NULL);
    ss_avro_codec_free(l);

    ss_avro_codec *s = codec(f, "score");
    expect_json_error(
        s,
        "{\"event_id\":\"e\",\"entity_id\":\"c\",\"event_time\":1,\"model_name\":\"m\","
        "\"model_version\":\"1\",\"role\":\"PRIMARY\",\"score\":0.1,\"decision\":"
        "\"APPROVE\",\"reasons\":[{\"feature\":\"a\",\"value\":1,\"contribution\":1},"
        "{\"feature\":\"b\",\"value\":\"x\",\"contribution\":1}],\"scored_at\":1}",
        0, SS_AVRO_JSON_WRONG_TYPE, "reasons[1].value", NULL);
    expect_json_error(
        s,
        "{\"event_id\":\"e\",\"entity_id\":\"c\",\"event_time\":1,\"model_name\":\"m\","
        "\"model_version\":\"1\",\"role\":\"PRIMARY\",\"score\":0.1,\"decision\":"
        "\"APPROVE\",\"reasons\":{},\"scored_at\":1}",
        0, SS_AVRO_JSON_WRONG_TYPE, "reasons", "field \"reasons\": expected array, got object");
    ss_avro_codec_free(s);

    ss_avro_codec *fv = codec(f, "feature_vector");
    expect_json_error(fv,
                      "{\"event_id\":\"e\",\"event_time\":1,\"entity_id\":\"c\",\"entities\":{},"
                      "\"features\":{\"f1\":1,\"f2\":\"high\"},\"definitions_version\":\"1\","
                      "\"computed_at\":1}",
                      0, SS_AVRO_JSON_WRONG_TYPE, "features.f2", NULL);
    ss_avro_codec_free(fv);
}

static void test_json_defaults(void **state)
{
    fixture *f = *state;
    ss_avro_codec *fv = codec(f, "feature_vector");
    json_t *j =
        json_loads("{\"event_id\":\"e\",\"event_time\":1,\"entity_id\":\"c\",\"entities\":{},"
                   "\"features\":{\"f\":null},\"definitions_version\":\"1\",\"computed_at\":1}",
                   0, NULL);
    avro_value_t *v = ss_avro_codec_new_value(fv);
    assert_int_equal(ss_avro_from_json_ex(v, j, 0, NULL), 0);
    json_t *out = ss_avro_to_json(v);
    assert_true(json_is_false(json_object_get(out, "late")));
    assert_int_equal(json_object_size(json_object_get(out, "categories")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(out, "features"), "f")));
    json_decref(out);
    json_decref(j);
    ss_avro_codec_free(fv);
}

/* A record written with schemas/history/card_transaction.v0 (id 6) decodes into
 * the current CardTransaction with the newer fields at their defaults; and
 * the other way round, the old reader skips the new fields. */
static void test_schema_evolution(void **state)
{
    fixture *f = *state;
    ss_avro_codec *v0 = codec(f, "history/card_transaction.v0");
    ss_avro_codec *cur = codec(f, "card_transaction");
    assert_int_equal(ss_avro_codec_schema_id(v0), 6);
    ss_buf buf;
    ss_buf_init(&buf);
    encode_json(v0, "{" CT_BASE ",\"amount\":7.25,\"channel\":\"ATM\"}", &buf);
    assert_int_equal((uint8_t)buf.data[4], 6);
    for (int round = 0; round < 3; round++) { /* resolver cached, value reused */
        avro_value_t *v = NULL;
        if (ss_avro_decode(cur, buf.data, buf.len, &v, f->err, sizeof f->err))
            fail_msg("decode v0: %s", f->err);
        assert_ptr_equal(avro_value_get_schema(v), ss_avro_codec_schema(cur));
        json_t *got = ss_avro_to_json(v);
        json_t *want = json_loads(
            "{" CT_BASE
            ",\"amount\":7.25,\"channel\":\"ATM\",\"device_id\":null,\"card_country\":null,"
            "\"auth_result\":null,\"latitude\":null,\"longitude\":null,\"ip_address\":null}",
            0, NULL);
        if (!json_equal(got, want)) fail_msg("v0 -> current: %s", json_dumps(got, JSON_SORT_KEYS));
        json_decref(got);
        json_decref(want);
    }
    /* a current record with the optional fields set, read by the v0 reader */
    encode_json(cur, samples[0][1], &buf);
    avro_value_t *v = NULL;
    if (ss_avro_decode(v0, buf.data, buf.len, &v, f->err, sizeof f->err))
        fail_msg("decode current with v0: %s", f->err);
    json_t *got = ss_avro_to_json(v);
    assert_int_equal(json_object_size(got), 9);
    assert_string_equal(json_string_value(json_object_get(got, "channel")), "ECOM");
    json_decref(got);
    ss_buf_free(&buf);
    ss_avro_codec_free(v0);
    ss_avro_codec_free(cur);
}

static void test_encode_rejects_other_schema(void **state)
{
    fixture *f = *state;
    ss_avro_codec *a = codec(f, "label"), *b = codec(f, "score");
    ss_buf buf;
    ss_buf_init(&buf);
    char err[256];
    avro_value_t *v = ss_avro_codec_new_value(b);
    assert_int_equal(ss_avro_encode(a, v, &buf, err, sizeof err), -1);
    assert_int_equal(ss_avro_codec_errcode(a), SS_AVRO_E_ENCODE);
    /* an unset union cannot be written */
    v = ss_avro_codec_new_value(a);
    assert_int_equal(ss_avro_encode(a, v, &buf, err, sizeof err), -1);
    ss_buf_free(&buf);
    ss_avro_codec_free(a);
    ss_avro_codec_free(b);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Types the project schemas do not use: float, bytes, fixed, nested records,
 * arrays of maps, defaults of every kind, Avro-JSON union wrappers. */
static void test_other_types(void **state)
{
    (void)state;
    char dir[] = "/tmp/ss-avro-test.XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ids.json", dir);
    write_text(path, "{\"schemas\":[{\"id\":10,\"file\":\"t.avsc\"}]}");
    snprintf(path, sizeof path, "%s/t.avsc", dir);
    write_text(path, "{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                     "{\"name\":\"f\",\"type\":\"float\"},"
                     "{\"name\":\"b\",\"type\":\"bytes\"},"
                     "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2}},"
                     "{\"name\":\"in\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
                     "{\"name\":\"k\",\"type\":\"int\",\"default\":5}]}},"
                     "{\"name\":\"am\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"map\","
                     "\"values\":\"long\"}}},"
                     "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"long\"],\"default\":null},"
                     "{\"name\":\"d\",\"type\":\"string\",\"default\":\"dflt\"},"
                     "{\"name\":\"ok\",\"type\":\"boolean\"}]}");
    ss_avro_registry *r = ss_avro_registry_new(dir, NULL, err, sizeof err);
    if (!r) fail_msg("%s", err);
    ss_avro_codec *c = ss_avro_codec_new(r, "T", NULL, err, sizeof err);
    assert_non_null(c);
    const char *text = "{\"f\":1.5,\"b\":\"a\\u00ff\\u0000z\",\"x\":\"hi\",\"in\":{},"
                       "\"am\":[{\"a\":1},{}],\"u\":{\"long\":42},\"ok\":true}";
    json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
    avro_value_t *v = ss_avro_codec_new_value(c);
    ss_avro_json_error e;
    if (ss_avro_from_json_ex(v, j, SS_AVRO_JSON_STRICT, &e)) fail_msg("%s", e.msg);
    json_decref(j);
    const void *bytes;
    size_t n;
    avro_value_t field;
    avro_value_get_by_name(v, "b", &field, NULL);
    avro_value_get_bytes(&field, &bytes, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(bytes, "a\xff\0z", 4);
    ss_buf buf;
    ss_buf_init(&buf);
    assert_int_equal(ss_avro_encode(c, v, &buf, err, sizeof err), 0);
    avro_value_t *out;
    assert_int_equal(ss_avro_decode(c, buf.data, buf.len, &out, err, sizeof err), 0);
    json_t *got = ss_avro_to_json(out);
    json_t *want = json_loads("{\"f\":1.5,\"b\":\"a\\u00ff\\u0000z\",\"x\":\"hi\",\"in\":{\"k\":5},"
                              "\"am\":[{\"a\":1},{}],\"u\":42,\"d\":\"dflt\",\"ok\":true}",
                              JSON_ALLOW_NUL, NULL);
    if (!json_equal(got, want)) fail_msg("got %s", json_dumps(got, JSON_SORT_KEYS));
    json_decref(got);
    json_decref(want);
    expect_json_error(c, "{\"f\":1e39,\"b\":\"\",\"x\":\"hi\",\"in\":{},\"am\":[],\"ok\":true}", 0,
                      SS_AVRO_JSON_OUT_OF_RANGE, "f", NULL);
    expect_json_error(c, "{\"f\":1,\"b\":\"\\u0100\",\"x\":\"hi\",\"in\":{},\"am\":[],\"ok\":true}",
                      0, SS_AVRO_JSON_WRONG_TYPE, "b", NULL);
    expect_json_error(c, "{\"f\":1,\"b\":\"\",\"x\":\"abc\",\"in\":{},\"am\":[],\"ok\":true}", 0,
                      SS_AVRO_JSON_OUT_OF_RANGE, "x", NULL);
    expect_json_error(
        c, "{\"f\":1,\"b\":\"\",\"x\":\"ab\",\"in\":{\"k\":\"1\"},\"am\":[],\"ok\":true}", 0,
        SS_AVRO_JSON_WRONG_TYPE, "in.k", NULL);
    expect_json_error(
        c, "{\"f\":1,\"b\":\"\",\"x\":\"ab\",\"in\":{},\"am\":[{\"z\":0.5}],\"ok\":true}", 0,
        SS_AVRO_JSON_WRONG_TYPE, "am[0].z", NULL);
    expect_json_error(c, "{\"f\":1,\"b\":\"\",\"x\":\"ab\",\"in\":{},\"am\":[],\"ok\":1}", 0,
                      SS_AVRO_JSON_WRONG_TYPE, "ok", NULL);
    ss_buf_free(&buf);
    ss_avro_codec_free(c);
    ss_avro_registry_free(r);

    /* a schema file without an id is a start-up error */
    snprintf(path, sizeof path, "%s/orphan.avsc", dir);
    write_text(path, "{\"type\":\"record\",\"name\":\"O\",\"fields\":[]}");
    assert_null(ss_avro_registry_new(dir, NULL, err, sizeof err));
    assert_non_null(strstr(err, "orphan.avsc has no id in ids.json"));
    unlink(path);
    snprintf(path, sizeof path, "%s/t.avsc", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/ids.json", dir);
    unlink(path);
    rmdir(dir);
    assert_null(ss_avro_registry_new("/nonexistent", NULL, err, sizeof err));
    assert_null(ss_avro_registry_new("schemas", "https://sr.example", err, sizeof err));
}

static void test_registry_unreachable(void **state)
{
    (void)state;
    char err[256];
    /* port 1 on loopback: connection refused */
    ss_avro_registry *r = ss_avro_registry_new("schemas", "http://127.0.0.1:1", err, sizeof err);
    assert_non_null(r);
    assert_null(ss_avro_codec_new(r, "label", "labels-value", err, sizeof err));
    assert_non_null(strstr(err, "connect 127.0.0.1:1"));
    ss_avro_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_lookup),
        cmocka_unit_test(test_round_trip_every_schema),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_corruption_never_crashes),
        cmocka_unit_test(test_json_errors_name_the_field),
        cmocka_unit_test(test_json_defaults),
        cmocka_unit_test(test_schema_evolution),
        cmocka_unit_test(test_encode_rejects_other_schema),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_registry_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
