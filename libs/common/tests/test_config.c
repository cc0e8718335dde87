/* test_config.c - the config table: defaults, parsing per type, bounds, and a
 * bad value for each type failing with the variable named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"

typedef struct cfg {
    char *name;
    int64_t count, timeout, size;
    double ratio;
    int flag;
} cfg;

static const ss_config_entry table[] = {
    {"T_NAME", SS_CFG_STRING, "svc", SS_UNBOUNDED, offsetof(cfg, name), "a name"},
    {"T_COUNT", SS_CFG_INT, "10", 1, 100, offsetof(cfg, count), "a count"},
    {"T_TIMEOUT", SS_CFG_DURATION, "5s", 0, 3600000, offsetof(cfg, timeout), "a timeout"},
    {"T_SIZE", SS_CFG_SIZE, "1MiB", SS_UNBOUNDED, offsetof(cfg, size), "a size"},
    {"T_RATIO", SS_CFG_DOUBLE, "0.5", 0, 1, offsetof(cfg, ratio), "a ratio"},
    {"T_FLAG", SS_CFG_BOOL, "false", SS_UNBOUNDED, offsetof(cfg, flag), "a flag"},
    SS_CFG_END};

static void clear_env(void)
{
    for (const ss_config_entry *e = table; e->env; e++) unsetenv(e->env);
    unsetenv("T_REQUIRED");
}

static void test_defaults(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    clear_env();
    assert_int_equal(ss_config_load(table, &c, err, sizeof(err)), 0);
    assert_string_equal(c.name, "svc");
    assert_int_equal(c.count, 10);
    assert_int_equal(c.timeout, 5000);
    assert_int_equal(c.size, 1048576);
    assert_true(c.ratio == 0.5);
    assert_int_equal(c.flag, 0);
    ss_config_free(table, &c);
    assert_null(c.name);
}

static void test_env_values(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    clear_env();
    setenv("T_NAME", "x", 1);
    setenv("T_COUNT", "42", 1);
    setenv("T_TIMEOUT", "2m", 1);
    setenv("T_SIZE", "64KiB", 1);
    setenv("T_RATIO", "0.25", 1);
    setenv("T_FLAG", "yes", 1);
    assert_int_equal(ss_config_load(table, &c, err, sizeof(err)), 0);
    assert_string_equal(c.name, "x");
    assert_int_equal(c.count, 42);
    assert_int_equal(c.timeout, 120000);
    assert_int_equal(c.size, 65536);
    assert_true(c.ratio == 0.25);
    assert_int_equal(c.flag, 1);
    ss_config_free(table, &c);
}

/* one bad value per type: start-up fails and the message names the variable */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *env, *value, *expect;
    } cases[] = {
        {"T_COUNT", "ten", "T_COUNT: expected integer, got \"ten\""},
        {"T_COUNT", "1.5", "T_COUNT: expected integer"},
        {"T_COUNT", "1000", "T_COUNT: 1000 is outside [1, 100]"},
        {"T_COUNT", "", "T_COUNT: expected integer"},
        {"T_TIMEOUT", "soon", "T_TIMEOUT: expected duration"},
        {"T_TIMEOUT", "5 parsecs", "T_TIMEOUT: expected duration"},
        {"T_TIMEOUT", "2h", "T_TIMEOUT: 7200000 is outside"},
        {"T_SIZE", "big", "T_SIZE: expected size"},
        {"T_SIZE", "-1KiB", "T_SIZE: expected size"},
        {"T_RATIO", "half", "T_RATIO: expected number, got \"half\""},
        {"T_RATIO", "nan", "T_RATIO: expected number"},
        {"T_RATIO", "1.5", "T_RATIO: 1.5 is outside [0, 1]"},
        {"T_FLAG", "maybe", "T_FLAG: expected boolean"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfg c;
        char err[256] = "";
        clear_env();
        setenv(cases[i].env, cases[i].value, 1);
        assert_int_equal(ss_config_load(table, &c, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].expect)) fail_msg("case %zu: got \"%s\"", i, err);
        assert_non_null(strstr(err, "bad config: "));
    }
}

static void test_required(void **state)
{
    (void)state;
    static const ss_config_entry req[] = {
        {"T_REQUIRED", SS_CFG_STRING, NULL, SS_UNBOUNDED, offsetof(cfg, name), "must be set"},
        SS_CFG_END};
    cfg c;
    char err[256];
    clear_env();
    assert_int_equal(ss_config_load(req, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "bad config: T_REQUIRED: required, not set");
}

static void test_parsers(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(ss_parse_duration_ms("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(ss_parse_duration_ms("30d", &v), 0);
    assert_int_equal(v, 30LL * 86400000);
    assert_int_equal(ss_parse_duration_ms("1.5s", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(ss_parse_duration_ms("1.5ms", &v), -1); /* not whole ms */
    assert_int_equal(ss_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2147483648LL);
    assert_int_equal(ss_parse_size("1MB", &v), 0);
    assert_int_equal(v, 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),   cmocka_unit_test(test_env_values),
        cmocka_unit_test(test_bad_values), cmocka_unit_test(test_required),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
