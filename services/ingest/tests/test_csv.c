/* test_csv.c - backfill's CSV reader: RFC 4180 splitting and typing cells by
 * the event schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest.h"

static void test_split(void **state)
{
    (void)state;
    char *cells[8];
    char buf[] = "a,\"b, with comma\",\"say \"\"hi\"\"\",,last";
    assert_int_equal(backfill_csv_split(buf, cells, 8), 5);
    assert_string_equal(cells[0], "a");
    assert_string_equal(cells[1], "b, with comma");
    assert_string_equal(cells[2], "say \"hi\"");
    assert_string_equal(cells[3], "");
    assert_string_equal(cells[4], "last");
    char multi[] = "\"line one\nline two\",x";
    assert_int_equal(backfill_csv_split(multi, cells, 8), 2);
    assert_string_equal(cells[0], "line one\nline two");
    char open[] = "\"never closed,x";
    assert_int_equal(backfill_csv_split(open, cells, 8), -1);
    char many[] = "1,2,3";
    assert_int_equal(backfill_csv_split(many, cells, 2), -1);
    char empty[] = "";
    assert_int_equal(backfill_csv_split(empty, cells, 8), 1);
}

static void test_to_json(void **state)
{
    (void)state;
    char err[256];
    ss_avro_registry *r = ss_avro_registry_new("schemas", NULL, err, sizeof err);
    assert_non_null(r);
    avro_schema_t s = ss_avro_registry_schema(r, "card_transaction");
    char *header[] = {"event_id", "event_time", "amount", "latitude", "channel", "device_id"};
    char *cells[] = {"e1", "1764000000000", "12.5", "", "POS", "007"};
    char *json = NULL;
    assert_int_equal(backfill_csv_to_json(s, header, 6, cells, 6, &json), 0);
    /* typed by the schema: long and double become numbers, strings stay
     * strings ("007" keeps its zeros), empty cells are absent */
    assert_string_equal(json, "{\"event_id\":\"e1\",\"event_time\":1764000000000,\"amount\":12.5,"
                              "\"channel\":\"POS\",\"device_id\":\"007\"}");
    free(json);
    /* a cell that does not parse as its type stays a string for validation to name */
    char *bad[] = {"e2", "2025-11-24T10:00:00Z", "abc", "nan", "POS", ""};
    assert_int_equal(backfill_csv_to_json(s, header, 6, bad, 6, &json), 0);
    assert_string_equal(json, "{\"event_id\":\"e2\",\"event_time\":\"2025-11-24T10:00:00Z\","
                              "\"amount\":\"abc\",\"latitude\":\"nan\",\"channel\":\"POS\"}");
    free(json);
    assert_int_equal(backfill_csv_to_json(s, header, 6, cells, 5, &json), -1);
    ss_avro_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
