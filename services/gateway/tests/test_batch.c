/* test_batch.c - the batch splitter against jansson: random nested JSON
 * arrays (strings with escapes, brackets and commas inside, unicode, random
 * whitespace) split into element byte ranges that parse back to the same
 * values; malformed arrays are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway.h"

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

static json_t *random_value(int depth)
{
    static const char *strs[] = {"plain",
                                 "with \"quotes\"",
                                 "br]ack{ets},[",
                                 "back\\slash\\",
                                 "unicode \xc3\xa9\xe2\x82\xac",
                                 "nl\nand\ttab",
                                 "",
                                 "x\",1,\"y",
                                 "q\"]}",
                                 "\\\""};
    switch (depth > 3 ? rnd(4) : rnd(6)) {
    case 0:
        return json_integer((json_int_t)rnd(100000) - 50000);
    case 1:
        return json_real((double)rnd(1000000) / 7.0);
    case 2:
        return json_string(strs[rnd(sizeof(strs) / sizeof(strs[0]))]);
    case 3:
        return rnd(3) == 0 ? json_null() : json_boolean(rnd(2));
    case 4: {
        json_t *o = json_object();
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            char k[16];
            snprintf(k, sizeof(k), "k%u,]", i);
            json_object_set_new(o, k, random_value(depth + 1));
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (unsigned i = 0, n = rnd(4); i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

static void ws(ss_buf *b)
{
    static const char *w[] = {"", " ", "\n", "\t ", "\r\n  "};
    const char *s = w[rnd(5)];
    ss_buf_append(b, s, strlen(s));
}

static void test_split_matches_jansson(void **state)
{
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = rnd(8);
        json_t *vals[8];
        ss_buf b;
        ss_buf_init(&b);
        ws(&b);
        ss_buf_append(&b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            vals[i] = random_value(0);
            ws(&b);
            char *t =
                json_dumps(vals[i], JSON_ENCODE_ANY | (rnd(2) ? JSON_COMPACT : JSON_INDENT(1)) |
                                        (rnd(2) ? JSON_ENSURE_ASCII : 0));
            ss_buf_append(&b, t, strlen(t));
            free(t);
            ws(&b);
            if (i + 1 < n) ss_buf_append(&b, ",", 1);
        }
        ws(&b);
        ss_buf_append(&b, "]", 1);
        ws(&b);

        json_error_t e;
        json_t *whole = json_loadb(b.data, b.len, 0, &e);
        assert_non_null(whole);
        const char *items[8];
        size_t lens[8], pos = 0;
        long got = gw_json_array_split(b.data, b.len, items, lens, 8, &pos);
        assert_int_equal(got, (long)n);
        for (size_t i = 0; i < n; i++) {
            json_t *back = json_loadb(items[i], lens[i], JSON_DECODE_ANY, &e);
            assert_non_null(back);
            assert_true(json_equal(back, vals[i]));
            assert_true(json_equal(back, json_array_get(whole, i)));
            json_decref(back);
            json_decref(vals[i]);
        }
        json_decref(whole);

        /* truncations of a non-empty array are never split successfully */
        if (n > 0) {
            size_t cut = 1 + rnd((unsigned)(b.len - 1));
            const char *end = b.data + cut;
            while (end > b.data && strchr(" \t\r\n", end[-1]))
                end--;
            if (end > b.data && end[-1] != ']')
                assert_int_equal(gw_json_array_split(b.data, cut, items, lens, 8, &pos), -1);
        }
        ss_buf_free(&b);
    }
}

static void test_split_edge_cases(void **state)
{
    (void)state;
    const char *items[8];
    size_t lens[8], pos = 0;
    const char *s = " [ {\"a\":\"x,]}\\\"\"} , {\"b\":[1,{\"c\":2}]},3 ,\"s\"] ";
    assert_int_equal(gw_json_array_split(s, strlen(s), items, lens, 8, &pos), 4);
    assert_memory_equal(items[0], "{\"a\":\"x,]}\\\"\"}", lens[0]);
    assert_memory_equal(items[1], "{\"b\":[1,{\"c\":2}]}", lens[1]);
    assert_memory_equal(items[2], "3", lens[2]);
    assert_memory_equal(items[3], "\"s\"", lens[3]);
    assert_int_equal(gw_json_array_split("[]", 2, items, lens, 8, &pos), 0);
    assert_int_equal(gw_json_array_split(" [ ] ", 5, items, lens, 8, &pos), 0);
    assert_int_equal(gw_json_array_split("[1,2,3]", 7, items, lens, 2, &pos),
                     3); /* counts past max */
    assert_int_equal(gw_json_array_split("[1,,2]", 6, items, lens, 8, &pos), -1);
    assert_int_equal(gw_json_array_split("[1,]", 4, items, lens, 8, &pos), -1);
    assert_int_equal(gw_json_array_split("[1", 2, items, lens, 8, &pos), -1);
    assert_int_equal(gw_json_array_split("[\"1]", 4, items, lens, 8, &pos), -1);
    assert_int_equal(gw_json_array_split("[1] x", 5, items, lens, 8, &pos), -1);
    assert_int_equal(pos, 4);
    assert_int_equal(gw_json_array_split("{}", 2, items, lens, 8, &pos), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_matches_jansson),
        cmocka_unit_test(test_split_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
