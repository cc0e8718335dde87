/* Definition files: the shipped card-fraud file loads; bad files fail with
 * the place (line:column or field path) and a named reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "features-internal.h"
#include "fx.h"

static ss_feature_defs *load_repo_file(const char *rel, char *err, size_t errlen)
{
    const char *prefixes[] = {"", "../", "../../"};
    char path[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", prefixes[i], rel);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        fclose(f);
        return ss_feature_defs_load(path, err, errlen);
    }
    snprintf(err, errlen, "%s not found", rel);
    return NULL;
}

static void test_card_fraud_loads(void **state)
{
    char err[512] = "";
    (void)state;
    ss_feature_defs *d = load_repo_file("features/card_fraud.json", err, sizeof err);
    if (!d) fail_msg("%s", err);
    assert_true(ss_feature_defs_count(d) >= 25);
    assert_string_equal(ss_feature_defs_primary(d), "card");
    assert_string_equal(ss_feature_defs_primary_field(d), "card_id");
    assert_int_equal(ss_feature_defs_entity_count(d), 3);
    int per_entity[3] = {0, 0, 0};
    for (size_t i = 0; i < d->n_features; i++)
        per_entity[d->features[i].entity]++;
    assert_true(per_entity[0] > 0 && per_entity[1] > 0 && per_entity[2] > 0);
    /* every aggregation is used */
    for (int agg = FD_COUNT; agg <= FD_RATIO; agg++) {
        int used = 0;
        for (size_t i = 0; i < d->n_features; i++)
            used |= (int)d->features[i].agg == agg;
        assert_true(used);
    }
    assert_int_equal(ss_feature_defs_max_window_ms(d), 30LL * 86400000);
    assert_int_equal(ss_feature_defs_grace_ms(d), 600000);
    assert_int_equal(ss_feature_defs_index(d, "card_txn_count_1h"), 1);
    assert_int_equal(ss_feature_defs_index(d, "nope"), -1);
    assert_non_null(strstr(ss_feature_defs_lua(d), "local FT = {"));
    ss_feature_defs_free(d);
}

static void test_auto_tiles(void **state)
{
    static const char defs[] =
        "{\"version\":\"v\",\"entities\":[{\"name\":\"card\",\"field\":\"card_id\",\"primary\":"
        "true}],"
        "\"features\":["
        "{\"name\":\"a\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1m\"},"
        "{\"name\":\"b\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\"},"
        "{\"name\":\"c\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"24h\"},"
        "{\"name\":\"d\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"30d\"},"
        "{\"name\":\"e\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"24h\",\"tile\":\"1h\"}]"
        "}";
    char err[256];
    (void)state;
    ss_feature_defs *d = ss_feature_defs_parse(defs, sizeof defs - 1, "t", err, sizeof err);
    if (!d) fail_msg("%s", err);
    assert_int_equal(d->features[0].tile_ms, 1000);
    assert_int_equal(d->features[1].tile_ms, 60000);
    assert_int_equal(d->features[2].tile_ms, 3600000);
    assert_int_equal(d->features[3].tile_ms, 86400000);
    /* same entity, no field, no filter, same tile: one shared stream */
    assert_int_equal(d->features[2].stream, d->features[4].stream);
    assert_int_equal(d->n_streams, 4);
    ss_feature_defs_free(d);
}

/* Each case: a file and the text its error must contain. */
typedef struct bad_case {
    const char *text;
    const char *want;
} bad_case;

#define ENT "\"entities\":[{\"name\":\"card\",\"field\":\"card_id\",\"primary\":true}]"
#define F(body) "{\"version\":\"v\"," ENT ",\"features\":[" body "]}"
#define CNT "{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\"}"

static const bad_case bad_cases[] = {
    {"{\"version\": \"v\",\n \"entities\": [}\n", "t.json:2:"},
    {"{" ENT ",\"features\":[" CNT "]}", "version: missing"},
    {"{\"version\":\"v\",\"features\":[" CNT "]}", "entities: missing"},
    {"{\"version\":\"v\",\"entities\":[{\"name\":\"card\",\"field\":\"card_id\"}],\"features\":"
     "[" CNT "]}",
     "no entity has \"primary\": true"},
    {"{\"version\":\"v\",\"entities\":[{\"name\":\"card\",\"field\":\"card_id\",\"primary\":true},"
     "{\"name\":\"m\",\"field\":\"m\",\"primary\":true}],\"features\":[" CNT "]}",
     "entities[1]: second primary entity"},
    {F(CNT "," CNT), "features[1] (n): name: duplicate feature name"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"median\",\"window\":\"1h\"}"),
     "features[0] (n): agg: unknown aggregation \"median\""},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"5x\"}"),
     "features[0] (n).window: bad duration \"5x\""},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"31d\"}"),
     "features[0] (n).window: 2678400000 ms is outside 1m .. 30d"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"10s\"}"),
     "is outside 1m .. 30d"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\",\"tile\":\"7m\"}"),
     "features[0] (n).tile: window 3600000 ms is not a multiple of tile 420000 ms"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\",\"tile\":\"1s\"}"),
     "window needs 3600 tiles (max 1000)"},
    {F("{\"name\":\"n\",\"entity\":\"merchant\",\"agg\":\"count\",\"window\":\"1h\"}"),
     "features[0] (n): entity: unknown entity \"merchant\""},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\",\"filter\":"
       "\"declined\"}"),
     "features[0] (n): filter: unknown filter \"declined\""},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"sum\",\"window\":\"1h\"}"),
     "features[0] (n).field: missing"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"field\":\"amount\",\"window\":"
       "\"1h\"}"),
     "features[0] (n): field: not allowed for count"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"count\",\"windw\":\"1h\"}"),
     "features[0] (n): unknown key \"windw\""},
    {F("{\"name\":\"N-1\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"1h\"}"),
     "features[0] (N-1): name: bad name"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"last\",\"field\":\"amount\",\"window\":"
       "\"1h\"}"),
     "features[0] (n): window: not allowed for last"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"ratio\",\"field\":\"amount\",\"of\":"
       "\"stddev\",\"window\":\"1h\"}"),
     "features[0] (n): of: expected mean, sum, min or max, got \"stddev\""},
    {"{\"version\":\"v\"," ENT
     ",\"filters\":{\"x\":{\"field\":\"a\",\"equals\":\"A\",\"in\":[\"B\"]}},\"features\":[" CNT
     "]}",
     "filters.x: expected exactly one of"},
    {"{\"version\":\"v\"," ENT
     ",\"filters\":{\"x\":{\"field\":\"a\",\"gt\":\"big\"}},\"features\":[" CNT "]}",
     "filters.x.gt: expected number"},
    {"{\"version\":\"v\",\"grace\":\"soon\"," ENT ",\"features\":[" CNT "]}",
     "grace: bad duration \"soon\""},
    {"{\"version\":\"v\"," ENT ",\"features\":[]}", "features: expected a non-empty array"},
    {"[1,2]", "(root): expected a JSON object"},
    /* errors about a named object carry its line */
    {"{\"version\":\"v\",\n" ENT ",\n\"features\":[\n " CNT ",\n"
     " {\"name\":\"b\",\"entity\":\"card\",\"agg\":\"count\",\"window\":\"5x\"}\n]}\n",
     "t.json:5: features[1] (b).window: bad duration \"5x\""},
    {"{\"version\":\"v\",\"filters\":{\n\"x\":{\"field\":\"a\",\"gt\":\"b\"}},\n" ENT
     ",\"features\":[" CNT "]}",
     "t.json:2: filters.x.gt: expected number"},
    {F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"time_since_last\",\"group_by\":\"channel\"}"),
     "features[0] (n): group_by: not allowed for time_since_last"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char err[512] = "";
        const bad_case *c = &bad_cases[i];
        ss_feature_defs *d =
            ss_feature_defs_parse(c->text, strlen(c->text), "t.json", err, sizeof err);
        if (d) {
            ss_feature_defs_free(d);
            fail_msg("case %zu: accepted, expected \"%s\"", i, c->want);
        }
        if (!strstr(err, c->want) || strncmp(err, "bad feature definitions: t.json", 31) != 0)
            fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, err, c->want);
    }
}

static void test_missing_file(void **state)
{
    char err[256];
    (void)state;
    assert_null(ss_feature_defs_load("/nonexistent/defs.json", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/defs.json: cannot open"));
}

static void test_schema_check(void **state)
{
    static const char typo[] = F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"sum\",\"field\":"
                                 "\"amout\",\"window\":\"1h\"}");
    static const char strsum[] = F("{\"name\":\"n\",\"entity\":\"card\",\"agg\":\"sum\",\"field\":"
                                   "\"merchant_id\",\"window\":\"1h\"}");
    char err[512] = "";
    (void)state;
    avro_schema_t schema = fx_card_schema();
    assert_non_null(schema);
    ss_feature_defs *d = load_repo_file("features/card_fraud.json", err, sizeof err);
    assert_non_null(d);
    if (ss_feature_defs_check_schema(d, schema, err, sizeof err) < 0) fail_msg("%s", err);
    ss_feature_defs_free(d);
    d = ss_feature_defs_parse(typo, sizeof typo - 1, "t", err, sizeof err);
    assert_int_equal(ss_feature_defs_check_schema(d, schema, err, sizeof err), -1);
    assert_string_equal(
        err, "feature definitions: field \"amout\" (used by n): not in schema CardTransaction");
    ss_feature_defs_free(d);
    d = ss_feature_defs_parse(strsum, sizeof strsum - 1, "t", err, sizeof err);
    assert_int_equal(ss_feature_defs_check_schema(d, schema, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"merchant_id\" (used by n): expected a number"));
    ss_feature_defs_free(d);
    avro_schema_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_card_fraud_loads), cmocka_unit_test(test_auto_tiles),
        cmocka_unit_test(test_bad_files),        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_schema_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
