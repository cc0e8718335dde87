/* test_registry.c - registry pointers in a real redis-server, bundles in a
 * temporary store: promote validates first, rollback pops history, shadow
 * set/clear, every change published on ss:model:<name>:changed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/registry.h"
#include "sstest/redis_server.h"

static char dir[256];
static sst_redis server;
static redisContext *rc;

static void write_bundle(const char *version, int valid)
{
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s/m/%s", dir, version);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/bundle.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"format\":\"streamscore.bundle/v1\",\"name\":\"m\",\"version\":\"%s\","
            "\"kind\":\"logistic\",\"features\":[\"a\"],"
            "\"thresholds\":{\"review\":0.5,\"decline\":0.9},"
            "\"logistic\":{\"intercept\":0,\"weights\":[%s]}}",
            version, valid ? "1" : "1,2");
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ss-registry-test.XXXXXX");
    if (!mkdtemp(dir)) return -1;
    if (sst_redis_start(&server) < 0) return -1;
    rc = sst_redis_connect(&server);
    return rc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (rc) redisFree(rc);
    sst_redis_stop(&server);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_promote_rollback_shadow(void **state)
{
    (void)state;
    char err[512] = "", out[128];
    ss_registry_state st;
    write_bundle("v1", 1);
    write_bundle("v2", 1);
    write_bundle("v3", 1);
    write_bundle("v-bad", 0);

    char **versions;
    size_t n;
    assert_int_equal(ss_registry_versions(dir, "m", &versions, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(versions[0], "v-bad");
    assert_string_equal(versions[3], "v3");
    ss_registry_versions_free(versions, n);
    assert_int_equal(ss_registry_versions(dir, "nope", &versions, &n, err, sizeof err), -1);

    /* listen for announcements on a second connection */
    redisContext *sub = redisConnect("127.0.0.1", server.port);
    assert_true(sub && !sub->err);
    redisReply *r = redisCommand(sub, "SUBSCRIBE ss:model:m:changed");
    assert_non_null(r);
    freeReplyObject(r);

    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.active, "");
    assert_int_equal(ss_registry_rollback(rc, dir, "m", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "rollback: no previous version"));

    assert_int_equal(ss_registry_promote(rc, dir, "m", "v1", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "");
    assert_int_equal(redisGetReply(sub, (void **)&r), REDIS_OK);
    assert_string_equal(r->element[2]->str, "active v1");
    freeReplyObject(r);

    assert_int_equal(ss_registry_promote(rc, dir, "m", "v2", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "v1");
    assert_int_equal(ss_registry_promote(rc, dir, "m", "v3", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.active, "v3");
    assert_int_equal(st.nhistory, 2);
    assert_string_equal(st.history[0], "v2");
    assert_string_equal(st.history[1], "v1");

    /* a bundle that does not validate never becomes a pointer */
    assert_int_equal(ss_registry_promote(rc, dir, "m", "v-bad", out, sizeof out, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "logistic.weights"));
    assert_int_equal(ss_registry_promote(rc, dir, "m", "v9", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such bundle directory"));
    assert_int_equal(ss_registry_promote(rc, dir, "m", "../x", out, sizeof out, err, sizeof err),
                     -1);
    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.active, "v3");

    assert_int_equal(ss_registry_rollback(rc, dir, "m", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "v2");
    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.active, "v2");
    assert_int_equal(st.nhistory, 1);

    assert_int_equal(ss_registry_set_shadow(rc, dir, "m", "v3", err, sizeof err), 0);
    assert_int_equal(ss_registry_set_shadow(rc, dir, "m", "v-bad", err, sizeof err), -1);
    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.shadow, "v3");
    assert_int_equal(ss_registry_set_shadow(rc, dir, "m", NULL, err, sizeof err), 0);
    assert_int_equal(ss_registry_get(rc, "m", &st, err, sizeof err), 0);
    assert_string_equal(st.shadow, "");

    /* messages: v2, v3 promotes, rollback to v2, shadow v3, shadow clear */
    const char *expect[] = {"active v2", "active v3", "active v2", "shadow v3", "shadow "};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_int_equal(redisGetReply(sub, (void **)&r), REDIS_OK);
        assert_string_equal(r->element[2]->str, expect[i]);
        freeReplyObject(r);
    }
    redisFree(sub);

    /* rollback refuses when the history head changed since it was validated */
    ss_registry_cmd c;
    ss_registry_cmd_rollback(&c, "m", "v7");
    r = redisCommandArgv(rc, c.argc, c.argv, c.argvlen);
    assert_int_equal(ss_registry_parse_change(r, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "history changed meanwhile"));
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promote_rollback_shadow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
