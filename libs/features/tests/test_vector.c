/* Feature vectors: lookup by name, JSON and Avro renderings, online key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "features-internal.h"

static const char *names[] = {"a_count", "a_mean"};
static const char *ent_names[] = {"card", "device"};
static const char *ent_ids[] = {"c1", NULL};
static const char *cat_names[] = {"channel", "country"};
static const char *cat_values[] = {"ECOM", NULL};
static const double values[] = {3, NAN};
static const ss_feature_vector vec = {
    .event_id = "e1",
    .event_time_ms = 1795500000123LL,
    .entity_id = "c1",
    .n_entities = 2,
    .entity_names = ent_names,
    .entity_ids = ent_ids,
    .n = 2,
    .names = names,
    .values = values,
    .n_categories = 2,
    .category_names = cat_names,
    .category_values = cat_values,
    .definitions_version = "v7",
    .late = 1,
    .computed_at_ms = 1795500000999LL,
};

static void test_get(void **state)
{
    (void)state;
    assert_true(ss_feature_vector_get(&vec, "a_count") == 3);
    assert_true(isnan(ss_feature_vector_get(&vec, "a_mean")));
    assert_true(isnan(ss_feature_vector_get(&vec, "nope")));
}

static void test_json(void **state)
{
    (void)state;
    json_t *o = ss_feature_vector_to_json(&vec);
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        s, "{\"categories\":{\"channel\":\"ECOM\"},\"computed_at\":1795500000999,"
           "\"definitions_version\":\"v7\",\"entities\":{\"card\":\"c1\"},\"entity_id\":\"c1\","
           "\"event_id\":\"e1\",\"event_time\":1795500000123,"
           "\"features\":{\"a_count\":3.0,\"a_mean\":null},\"late\":true}");
    free(s);
    json_decref(o);
}

static void test_avro_round_trip(void **state)
{
    char buf[8192], err[256];
    avro_schema_t schema = NULL;
    avro_value_t v, f, b;
    const char *str = NULL;
    size_t len = 0;
    double d = 0;
    int64_t l = 0;
    int late = 0;
    (void)state;
    FILE *fp = fopen("schemas/feature_vector.avsc", "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    assert_int_equal(avro_schema_from_json_length(buf, n, &schema), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_generic_value_new(iface, &v);
    if (ss_feature_vector_to_avro(&vec, &v, err, sizeof err) < 0) fail_msg("%s", err);
    avro_value_get_by_name(&v, "event_id", &f, NULL);
    avro_value_get_string(&f, &str, &len);
    assert_string_equal(str, "e1");
    avro_value_get_by_name(&v, "event_time", &f, NULL);
    avro_value_get_long(&f, &l);
    assert_int_equal(l, 1795500000123LL);
    avro_value_get_by_name(&v, "features", &f, NULL);
    avro_value_get_size(&f, &len);
    assert_int_equal(len, 2);
    avro_value_get_by_name(&f, "a_count", &b, NULL);
    avro_value_t br;
    avro_value_get_current_branch(&b, &br);
    avro_value_get_double(&br, &d);
    assert_true(d == 3);
    avro_value_get_by_name(&f, "a_mean", &b, NULL);
    avro_value_get_current_branch(&b, &br);
    assert_int_equal(avro_value_get_type(&br), AVRO_NULL);
    avro_value_get_by_name(&v, "entities", &f, NULL);
    avro_value_get_size(&f, &len);
    assert_int_equal(len, 1); /* absent entities are omitted */
    avro_value_get_by_name(&v, "late", &f, NULL);
    avro_value_get_boolean(&f, &late);
    assert_true(late);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static void test_online_key(void **state)
{
    ss_buf b;
    (void)state;
    ss_buf_init(&b);
    ss_features_online_key(NULL, "card", "c1", &b);
    assert_string_equal(b.data, "ss:online:card:c1");
    ss_buf_reset(&b);
    ss_features_online_key("x:", "merchant", "m", &b);
    assert_string_equal(b.data, "x:online:merchant:m");
    ss_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_avro_round_trip),
        cmocka_unit_test(test_online_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
