/* test_redis.c - ss_redis against a real redis-server started by the test:
 * replies in order, scripts via EVALSHA (and after SCRIPT FLUSH), readiness,
 * and an outage: commands issued while Redis is down wait and are answered
 * exactly once after it returns. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "sstest/redis_server.h"

#include "common/redis.h"
#include "common/util.h"

static sst_redis server;

typedef struct ctx {
    int answered;
    long long last;
    int order_ok;
    int ready_changes;
} ctx;

static void on_int(ss_redis *r, redisReply *rep, void *arg)
{
    ctx *c = arg;
    (void)r;
    if (rep->type == REDIS_REPLY_INTEGER) {
        if (rep->integer != c->last + 1) c->order_ok = 0;
        c->last = rep->integer;
    }
    c->answered++;
}

static void on_state(ss_redis *r, int ready, void *arg)
{
    (void)r;
    (void)ready;
    ((ctx *)arg)->ready_changes++;
}

static int run_until(struct event_base *b, int (*done)(void *), void *arg, int ms)
{
    int64_t end = ss_mono_us() + ms * 1000LL;
    while (!done(arg) && ss_mono_us() < end) event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    return done(arg);
}

static int is_ready(void *r)
{
    return ss_redis_ready(r);
}

static int not_ready(void *r)
{
    return !ss_redis_ready(r);
}

static int all_answered(void *arg)
{
    return ((ctx *)arg)->answered >= 100;
}

static ss_redis *connect_redis(struct event_base *b)
{
    char err[256];
    ss_redis *r = ss_redis_new(b, server.url, err, sizeof(err));
    assert_non_null(r);
    return r;
}

static void test_order_and_scripts(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    ss_redis *r = connect_redis(b);
    ctx c = {.order_ok = 1};
    int s = ss_redis_script(r, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    assert_true(run_until(b, is_ready, r, 5000));
    for (int i = 0; i < 50; i++) {
        const char *argv[] = {"INCR", "t:order"};
        ss_redis_command(r, 2, argv, NULL, on_int, &c);
    }
    for (int i = 0; i < 50; i++) {
        const char *argv[] = {"t:order", "1"};
        if (i == 25) { /* a flushed script cache must not lose commands */
            const char *fl[] = {"SCRIPT", "FLUSH"};
            ss_redis_command(r, 2, fl, NULL, NULL, NULL);
        }
        ss_redis_evalsha(r, s, 1, 2, argv, NULL, on_int, &c);
    }
    assert_true(run_until(b, all_answered, &c, 5000));
    assert_int_equal(c.answered, 100);
    assert_true(c.order_ok);
    assert_int_equal(c.last, 100);
    assert_int_equal(ss_redis_pending(r), 0);
    ss_redis_free(r);
    event_base_free(b);
}

static void test_outage(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    ss_redis *r = connect_redis(b);
    ctx c = {.order_ok = 1};
    char why[128];
    ss_redis_on_state(r, on_state, &c);
    assert_true(run_until(b, is_ready, r, 5000));
    assert_int_equal(ss_redis_ready_check(r, why, sizeof(why)), 1);

    sst_redis_kill(&server);
    assert_true(run_until(b, not_ready, r, 5000));
    assert_int_equal(ss_redis_ready_check(r, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "not connected"));
    for (int i = 0; i < 100; i++) {
        const char *argv[] = {"INCR", "t:outage"};
        ss_redis_command(r, 2, argv, NULL, on_int, &c);
    }
    run_until(b, all_answered, &c, 500);
    assert_int_equal(c.answered, 0); /* nothing answered (or lost) while down */
    assert_int_equal(ss_redis_pending(r), 100);

    assert_int_equal(sst_redis_start(&server), 0); /* same port, empty data set */
    assert_true(run_until(b, all_answered, &c, 10000));
    assert_int_equal(c.answered, 100);
    assert_true(c.order_ok);
    assert_int_equal(c.last, 100); /* each executed exactly once */
    assert_true(ss_redis_ready(r));
    assert_true(c.ready_changes >= 2); /* down, then up */
    ss_redis_free(r);
    event_base_free(b);
}

static void test_bad_url(void **state)
{
    (void)state;
    char err[256];
    struct event_base *b = event_base_new();
    assert_null(ss_redis_new(b, "redis://:99999999", err, sizeof(err)));
    assert_non_null(strstr(err, "bad redis url"));
    event_base_free(b);
}

static int setup(void **state)
{
    (void)state;
    return sst_redis_start(&server);
}

static int teardown(void **state)
{
    (void)state;
    sst_redis_stop(&server);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_scripts),
        cmocka_unit_test(test_outage),
        cmocka_unit_test(test_bad_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
