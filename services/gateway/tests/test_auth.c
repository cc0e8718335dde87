/* test_auth.c - key table parsing, lookup by SHA-256, scopes, token buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway.h"

static void sha_hex(const char *key, char out[65])
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "printf %%s '%s' | sha256sum", key);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, 65, p));
    pclose(p);
    out[64] = '\0';
}

static void test_parse_and_lookup(void **state)
{
    (void)state;
    char hp[65], ha[65], table[512], err[256] = "";
    sha_hex("key-produce", hp);
    sha_hex("key-admin", ha);
    snprintf(table, sizeof(table), "%s produce,score ingest-app; # comment\n%s admin,read ops 5 10",
             hp, ha);
    gw_auth *a = gw_auth_new(table, NULL, 100, 200, err, sizeof(err));
    if (!a) fprintf(stderr, "%s\n", err);
    assert_non_null(a);
    assert_int_equal(gw_auth_count(a), 2);

    gw_key *k = gw_auth_lookup(a, "key-produce");
    assert_non_null(k);
    assert_string_equal(gw_key_name(k), "ingest-app");
    assert_int_equal(gw_key_scopes(k), GW_SCOPE_PRODUCE | GW_SCOPE_SCORE);
    k = gw_auth_lookup(a, "key-admin");
    assert_non_null(k);
    assert_string_equal(gw_key_name(k), "ops");
    assert_int_equal(gw_key_scopes(k), GW_SCOPE_ADMIN | GW_SCOPE_READ);

    assert_null(gw_auth_lookup(a, "key-admin "));
    assert_null(gw_auth_lookup(a, "key-produc"));
    assert_null(gw_auth_lookup(a, ""));
    assert_null(gw_auth_lookup(a, NULL));
    /* the digest itself is not a key */
    assert_null(gw_auth_lookup(a, ha));
    gw_auth_free(a);
}

static void test_file_and_errors(void **state)
{
    (void)state;
    char hp[65], err[256] = "", path[] = "/tmp/ss-test-keys.XXXXXX";
    sha_hex("k1", hp);
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# keys\n\n%s read reporting\n", hp);
    fclose(f);
    gw_auth *a = gw_auth_new(NULL, path, 1, 1, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(gw_auth_lookup(a, "k1"));
    gw_auth_free(a);

    f = fopen(path, "w");
    fprintf(f, "# keys\n\n%s reed reporting\n", hp);
    fclose(f);
    assert_null(gw_auth_new(NULL, path, 1, 1, err, sizeof(err)));
    assert_non_null(strstr(err, ":3: scopes"));
    assert_non_null(strstr(err, "reed"));
    unlink(path);

    assert_null(gw_auth_new("abc read x", NULL, 1, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "64 hex digits"));
    /* the error never echoes the digest field's content */
    assert_null(strstr(err, "abc"));
    char dup[300];
    snprintf(dup, sizeof(dup), "%s read a;%s admin b", hp, hp);
    assert_null(gw_auth_new(dup, NULL, 1, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "repeats"));
    char few[100];
    snprintf(few, sizeof(few), "%s read", hp);
    assert_null(gw_auth_new(few, NULL, 1, 1, err, sizeof(err)));
    snprintf(dup, sizeof(dup), "%s read a 0", hp);
    assert_null(gw_auth_new(dup, NULL, 1, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "rps"));
    assert_null(gw_auth_new(NULL, "/nonexistent/keys", 1, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/keys"));

    int m = 0;
    assert_int_equal(gw_scopes_parse("produce,score,read,admin", &m), 0);
    assert_int_equal(m, GW_SCOPE_PRODUCE | GW_SCOPE_SCORE | GW_SCOPE_READ | GW_SCOPE_ADMIN);
    assert_int_equal(gw_scopes_parse("", &m), -1);
    assert_int_equal(gw_scopes_parse("root", &m), -1);
}

static void test_token_bucket(void **state)
{
    (void)state;
    char hp[65], table[200], err[256];
    sha_hex("k", hp);
    snprintf(table, sizeof(table), "%s score app 2 3", hp); /* 2/s, burst 3 */
    gw_auth *a = gw_auth_new(table, NULL, 100, 100, err, sizeof(err));
    gw_key *k = gw_auth_lookup(a, "k");
    int64_t t = 1000000;
    assert_int_equal(gw_key_take(k, t), 0);
    assert_int_equal(gw_key_take(k, t), 0);
    assert_int_equal(gw_key_take(k, t), 0);
    int wait = gw_key_take(k, t); /* empty: one token in 0.5 s -> Retry-After 1 */
    assert_int_equal(wait, 1);
    assert_int_equal(gw_key_take(k, t + 400000), 1); /* 0.8 token */
    assert_int_equal(gw_key_take(k, t + 500000), 0); /* refilled to 1 */
    /* long idle refills to the burst only */
    t += 100 * 1000000LL;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_key_take(k, t), 0);
    assert_true(gw_key_take(k, t) > 0);
    gw_auth_free(a);

    /* slow keys get a longer Retry-After */
    snprintf(table, sizeof(table), "%s score slow 0.1 1", hp);
    a = gw_auth_new(table, NULL, 100, 100, err, sizeof(err));
    k = gw_auth_lookup(a, "k");
    assert_int_equal(gw_key_take(k, 0), 0);
    assert_int_equal(gw_key_take(k, 0), 10);
    gw_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_lookup),
        cmocka_unit_test(test_file_and_errors),
        cmocka_unit_test(test_token_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
