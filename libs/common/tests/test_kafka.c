/* test_kafka.c - ss_producer/ss_consumer against devkafka (the mock cluster
 * in its own process, real protocol on loopback): back-pressure on
 * __QUEUE_FULL pauses the linked consumer and loses nothing; with every broker
 * down, sends are retried and all delivered once brokers return; a backlog
 * many times the prefetch cap is consumed in order, once, with the fetcher
 * kicked awake; KAFKA_CONF_* passthrough; DLQ headers. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/kafka.h"
#include "common/metrics.h"
#include "common/util.h"

static pid_t devkafka;
static char brokers[256];

static int start_devkafka(void **state)
{
    (void)state;
    char bin[512], file[] = "/tmp/ss-kafka-test-XXXXXX";
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    int fd = mkstemp(file);
    close(fd);
    unlink(file);
    snprintf(bin, sizeof(bin), "%s/bin/devkafka", build);
    devkafka = fork();
    if (devkafka == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "--partitions", "2", "--topic", "t.bp:1", "--topic", "t.down:1", "--topic", "t.kick:2", "--topic", "t.defer:1",
              "--bootstrap-file", file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(file, "r");
        if (f && fgets(brokers, sizeof(brokers), f)) {
            fclose(f);
            brokers[strcspn(brokers, "\n")] = '\0';
            return 0;
        }
        if (f) fclose(f);
        usleep(50000);
    }
    return -1;
}

static int stop_devkafka(void **state)
{
    (void)state;
    kill(devkafka, SIGTERM);
    waitpid(devkafka, NULL, 0);
    return 0;
}

typedef struct counts {
    int acked, failed, consumed, saw_pause;
} counts;

static int on_ack(void *opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset)
{
    counts *c = opaque;
    (void)partition;
    (void)offset;
    if (err) {
        c->failed++;
        return 1; /* retry */
    }
    c->acked++;
    return 0;
}

static void on_msg(ss_consumer *cons, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    (void)cons;
    (void)m;
    ((counts *)arg)->consumed++;
    ss_inflight_done(in);
}

static void run_for(struct event_base *b, int ms, int *until, int target)
{
    int64_t end = ss_mono_us() + ms * 1000LL;
    while (ss_mono_us() < end && (!until || *until < target)) {
        event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(500);
    }
}

static void test_backpressure(void **state)
{
    (void)state;
    char err[256];
    counts c = {0};
    struct event_base *b = event_base_new();
    setenv("KAFKA_CONF_QUEUE_BUFFERING_MAX_MESSAGES", "5", 1);
    ss_kafka_opts po = {.brokers = brokers, .linger_ms = 50};
    ss_producer *p = ss_producer_new(b, &po, err, sizeof(err));
    unsetenv("KAFKA_CONF_QUEUE_BUFFERING_MAX_MESSAGES");
    assert_non_null(p);
    const char *topics[] = {"t.bp"};
    ss_kafka_opts co = {.brokers = brokers, .group_id = "bp"};
    ss_consumer *cons = ss_consumer_new(b, &co, topics, 1, on_msg, NULL, &c, err, sizeof(err));
    assert_non_null(cons);
    ss_consumer_link_producer(cons, p);
    for (int i = 0; i < 200; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        ss_send s = {.topic = "t.bp", .partition = RD_KAFKA_PARTITION_UA, .value = v,
                     .valuelen = strlen(v), .cb = on_ack, .opaque = &c};
        assert_int_equal(ss_producer_send(p, &s), 0);
        if (ss_consumer_paused(cons) & SS_PAUSE_BACKPRESSURE) c.saw_pause = 1;
    }
    assert_true(c.saw_pause); /* the local queue (5) filled: input paused */
    run_for(b, 20000, &c.consumed, 200);
    assert_int_equal(c.acked, 200);
    assert_int_equal(c.consumed, 200); /* every message made it, in one piece */
    assert_int_equal(ss_producer_outstanding(p), 0);
    assert_false(ss_consumer_paused(cons) & SS_PAUSE_BACKPRESSURE);
    ss_producer_free(p);
    ss_consumer_free(cons);
    event_base_free(b);
}

typedef struct backlog {
    int64_t next[2]; /* expected offset per partition */
    int consumed, out_of_order;
} backlog;

static void on_backlog(ss_consumer *cons, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    backlog *bl = arg;
    (void)cons;
    if (m->partition < 0 || m->partition > 1 || m->offset != bl->next[m->partition])
        bl->out_of_order++;
    else
        bl->next[m->partition]++;
    bl->consumed++;
    ss_inflight_done(in);
}

/* The prefetch queue is capped (here at 64 KB) and librdkafka 2.0 would sleep
 * up to 1 s each time it fills; the consumer kicks the fetcher when the queue
 * runs dry with more on the broker. The backlog (~3 MB) still arrives whole,
 * in order, exactly once, and the kicks are counted. */
static void test_prefetch_cap(void **state)
{
    (void)state;
    char err[256], v[1000];
    counts c = {0};
    backlog bl = {{0, 0}, 0, 0};
    enum { N = 3000 };
    struct event_base *b = event_base_new();
    ss_kafka_opts po = {.brokers = brokers};
    ss_producer *p = ss_producer_new(b, &po, err, sizeof(err));
    assert_non_null(p);
    memset(v, 'x', sizeof(v));
    for (int i = 0; i < N; i++) {
        ss_send s = {.topic = "t.kick", .partition = i % 2, .value = v, .valuelen = sizeof(v),
                     .cb = on_ack, .opaque = &c};
        assert_int_equal(ss_producer_send(p, &s), 0);
    }
    run_for(b, 30000, &c.acked, N);
    assert_int_equal(c.acked, N);
    ss_metric *kicks = ss_counter("ss_kafka_fetch_kicks_total",
                                  "Fetcher wake-ups after the prefetch queue ran dry with more on the broker",
                                  NULL);
    double kicks0 = ss_metric_value(kicks);
    setenv("KAFKA_CONF_QUEUED_MAX_MESSAGES_KBYTES", "64", 1);
    const char *topics[] = {"t.kick"};
    ss_kafka_opts co = {.brokers = brokers, .group_id = "kick"};
    ss_consumer *cons = ss_consumer_new(b, &co, topics, 1, on_backlog, NULL, &bl, err, sizeof(err));
    unsetenv("KAFKA_CONF_QUEUED_MAX_MESSAGES_KBYTES");
    assert_non_null(cons);
    run_for(b, 60000, &bl.consumed, N);
    assert_int_equal(bl.consumed, N);
    assert_int_equal(bl.out_of_order, 0);
    assert_int_equal(bl.next[0] + bl.next[1], N);
    assert_true(ss_metric_value(kicks) > kicks0);
    ss_consumer_free(cons);
    ss_producer_free(p);
    event_base_free(b);
}

typedef struct defer_state {
    int handled;      /* messages handled, in order */
    int out_of_order; /* a message handled out of turn */
    int attempts;     /* times message 10 was offered */
    int saw_paused;   /* the consumer was paused while 10 waited */
} defer_state;

/* Message "10" cannot be handled on its first 3 offers (as if the schema
 * registry were down); every other one is handled at once. */
static void on_defer(ss_consumer *cons, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    defer_state *d = arg;
    int v = atoi(m->payload ? (const char *)m->payload : "-1");
    if (v == 10 && ++d->attempts <= 3) {
        if (ss_consumer_paused(cons) & SS_PAUSE_RETRY) d->saw_paused = 1;
        ss_consumer_defer(cons, m, in, "test: not yet");
        return;
    }
    if (v != d->handled) d->out_of_order++;
    d->handled++;
    ss_inflight_done(in);
}

static int64_t committed(ss_consumer *cons, const char *topic)
{
    rd_kafka_t *rk = ss_consumer_handle(cons);
    rd_kafka_commit(rk, NULL, 0); /* whatever is stored; _NO_OFFSET when nothing is */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0);
    int64_t off = -1;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

/* ss_consumer_defer: a message that cannot be handled yet is offered again
 * after a back-off, with the consumer paused meanwhile; the messages after it
 * wait behind it, so all 100 are handled once, in order; no offset is
 * committed past it while it waits, and all are committed once it is done. */
static void test_defer(void **state)
{
    (void)state;
    char err[256];
    counts c = {0};
    defer_state d = {0};
    enum { N = 100 };
    struct event_base *b = event_base_new();
    ss_kafka_opts po = {.brokers = brokers};
    ss_producer *p = ss_producer_new(b, &po, err, sizeof(err));
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        ss_send s = {.topic = "t.defer", .partition = 0, .value = v, .valuelen = strlen(v) + 1,
                     .cb = on_ack, .opaque = &c};
        assert_int_equal(ss_producer_send(p, &s), 0);
    }
    run_for(b, 30000, &c.acked, N);
    assert_int_equal(c.acked, N);
    ss_metric *deferred = ss_counter("ss_kafka_deferred_total",
                                     "Times a message could not be handled yet (a transient failure) and was kept for another try",
                                     NULL);
    double deferred0 = ss_metric_value(deferred);
    const char *topics[] = {"t.defer"};
    ss_kafka_opts co = {.brokers = brokers, .group_id = "defer"};
    ss_consumer *cons = ss_consumer_new(b, &co, topics, 1, on_defer, NULL, &d, err, sizeof(err));
    assert_non_null(cons);
    int two = 2;
    run_for(b, 30000, &d.attempts, two); /* 10 was deferred, then deferred again */
    assert_int_equal(d.handled, 10);
    assert_true(ss_consumer_paused(cons) & SS_PAUSE_RETRY);
    int64_t off = committed(cons, "t.defer");
    assert_true(off <= 10); /* never past the waiting message */
    run_for(b, 30000, &d.handled, N);
    assert_int_equal(d.handled, N);
    assert_int_equal(d.out_of_order, 0);
    assert_int_equal(d.attempts, 4);
    assert_true(d.saw_paused);
    assert_false(ss_consumer_paused(cons) & SS_PAUSE_RETRY);
    assert_true(ss_metric_value(deferred) == deferred0 + 3);
    run_for(b, 300, NULL, 0); /* offsets are stored on the next loop iteration */
    assert_int_equal(committed(cons, "t.defer"), N);
    ss_consumer_free(cons);
    ss_producer_free(p);
    event_base_free(b);
}

static void test_brokers_down(void **state)
{
    (void)state;
    char err[256], why[128];
    counts c = {0};
    struct event_base *b = event_base_new();
    ss_kafka_opts po = {.brokers = brokers, .delivery_timeout_ms = 0};
    ss_producer *p = ss_producer_new(b, &po, err, sizeof(err));
    assert_non_null(p);
    /* connected first, then every broker down */
    ss_send s0 = {.topic = "t.down", .partition = 0, .value = "x", .valuelen = 1, .cb = on_ack,
                  .opaque = &c};
    ss_producer_send(p, &s0);
    run_for(b, 10000, &c.acked, 1);
    assert_int_equal(c.acked, 1);
    kill(devkafka, SIGUSR1);
    usleep(300000);
    for (int i = 0; i < 50; i++) {
        ss_send s = {.topic = "t.down", .partition = 0, .value = "y", .valuelen = 1,
                     .cb = on_ack, .opaque = &c};
        ss_producer_send(p, &s);
    }
    run_for(b, 3000, NULL, 0);
    assert_int_equal(c.acked, 1); /* nothing acknowledged while down */
    assert_int_equal(ss_producer_outstanding(p), 50);
    (void)why;
    kill(devkafka, SIGUSR2);
    run_for(b, 30000, &c.acked, 51);
    assert_int_equal(c.acked, 51); /* all delivered once brokers returned */
    assert_int_equal(ss_producer_outstanding(p), 0);
    ss_producer_free(p);
    event_base_free(b);
}

static void test_conf_env(void **state)
{
    (void)state;
    char err[256];
    char v[64];
    size_t n = sizeof(v);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    setenv("KAFKA_CONF_SOCKET_KEEPALIVE_ENABLE", "true", 1);
    setenv("KAFKA_CONF_CLIENT_RACK", "eu-west-1a", 1);
    assert_int_equal(ss_kafka_conf_from_env(conf, err, sizeof(err)), 0);
    assert_int_equal(rd_kafka_conf_get(conf, "client.rack", v, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "eu-west-1a");
    setenv("KAFKA_CONF_SECURITY_PROTOCOL", "carrier_pigeon", 1);
    assert_int_equal(ss_kafka_conf_from_env(conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "security.protocol=carrier_pigeon"));
    unsetenv("KAFKA_CONF_SECURITY_PROTOCOL");
    unsetenv("KAFKA_CONF_SOCKET_KEEPALIVE_ENABLE");
    unsetenv("KAFKA_CONF_CLIENT_RACK");
    rd_kafka_conf_destroy(conf);
}

static void test_dlq_headers(void **state)
{
    (void)state;
    const void *v;
    size_t n;
    rd_kafka_headers_t *h = ss_dlq_headers("bad_enum", "channel", "events.ingest", 3, 42, "ingest");
    assert_int_equal(rd_kafka_header_get_last(h, "__streamscore.errors.reason", &v, &n), 0);
    assert_memory_equal(v, "bad_enum", n);
    assert_int_equal(rd_kafka_header_get_last(h, "__streamscore.errors.field", &v, &n), 0);
    assert_memory_equal(v, "channel", n);
    assert_int_equal(rd_kafka_header_get_last(h, "__streamscore.errors.offset", &v, &n), 0);
    assert_memory_equal(v, "42", n);
    assert_int_equal(rd_kafka_header_get_last(h, "__streamscore.errors.partition", &v, &n), 0);
    assert_memory_equal(v, "3", n);
    rd_kafka_headers_destroy(h);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_env),
        cmocka_unit_test(test_dlq_headers),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_brokers_down),
        cmocka_unit_test(test_prefetch_cap),
        cmocka_unit_test(test_defer),
    };
    return cmocka_run_group_tests(tests, start_devkafka, stop_devkafka);
}
