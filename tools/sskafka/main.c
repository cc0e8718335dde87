/* sskafka - a small Kafka CLI for tests, benchmarks and the demo (kcat-like,
 * but it waits for every delivery report and stops reliably on the mock
 * cluster). A tool: plain blocking librdkafka, no event loop.
 *
 *   sskafka produce -b BROKERS -t TOPIC [-K DELIM] [--count N --size BYTES]
 *       stdin lines (optionally "key<DELIM>value"), or N generated messages
 *       "msg-<seq>" padded to BYTES with key "k<seq>"; prints "acked N".
 *   sskafka consume -b BROKERS -t TOPIC [--max N] [--idle-ms MS] [--timeout-ms MS]
 *       [--format value|json|hex|count]
 *       reads from the beginning until N messages, or MS without a new message.
 *       json: {"partition","offset","key","value","value_hex","headers":{}}
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static long long acked, failed;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "sskafka: %s: %s\n", what, why);
    exit(1);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char e[256];
    if (rd_kafka_conf_set(c, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) die(k, e);
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o)
{
    (void)rk;
    (void)o;
    if (m->err) {
        failed++;
        fprintf(stderr, "sskafka: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        acked++;
    }
}

static void produce_one(rd_kafka_t *rk, const char *topic, const char *key, size_t klen,
                        const char *val, size_t vlen)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce", rd_kafka_err2str(e));
        rd_kafka_poll(rk, 50);
    }
    rd_kafka_poll(rk, 0);
}

static int do_produce(const char *brokers, const char *topic, const char *delim, long count,
                      long size)
{
    char e[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", brokers);
    set(c, "enable.idempotence", "true");
    set(c, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(c, on_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e));
    if (!rk) die("producer", e);
    long sent = 0;
    if (count > 0) {
        char *buf = malloc((size_t)size + 64), key[32];
        for (long i = 0; i < count; i++) {
            int n = snprintf(buf, (size_t)size + 64, "msg-%ld", i);
            while (n < size) buf[n++] = '.';
            int kn = snprintf(key, sizeof(key), "k%ld", i);
            produce_one(rk, topic, key, (size_t)kn, buf, (size_t)n);
            sent++;
        }
        free(buf);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            if (line[n - 1] == '\n') line[--n] = '\0';
            char *sep = delim ? strstr(line, delim) : NULL;
            if (sep)
                produce_one(rk, topic, line, (size_t)(sep - line), sep + strlen(delim),
                            (size_t)(n - (sep - line) - (long)strlen(delim)));
            else
                produce_one(rk, topic, NULL, 0, line, (size_t)n);
            sent++;
        }
        free(line);
    }
    while (acked + failed < sent) rd_kafka_poll(rk, 100);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    printf("acked %lld\n", acked);
    return failed ? 1 : 0;
}

static void hex(char *out, const unsigned char *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void print_json(const rd_kafka_message_t *m)
{
    json_t *o = json_object(), *h = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    char *hx = malloc(m->len * 2 + 1);
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    json_object_set_new(o, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
    json_t *v = m->payload ? json_stringn(m->payload, m->len) : NULL; /* NULL if not UTF-8 */
    json_object_set_new(o, "value", v ? v : json_null());
    hex(hx, m->payload, m->len);
    json_object_set_new(o, "value_hex", json_string(hx));
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &sz) == 0; i++)
            json_object_set_new(h, name, val ? json_stringn(val, sz) : json_null());
    }
    json_object_set_new(o, "headers", h);
    char *s = json_dumps(o, JSON_COMPACT);
    puts(s);
    free(s);
    free(hx);
    json_decref(o);
}

static int do_consume(const char *brokers, const char *topic, long max, long idle_ms,
                      long timeout_ms, const char *format)
{
    char e[256], group[64];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    snprintf(group, sizeof(group), "sskafka-%d-%lld", (int)getpid(), now_ms());
    set(c, "bootstrap.servers", brokers);
    set(c, "group.id", group);
    set(c, "auto.offset.reset", "earliest");
    set(c, "enable.auto.commit", "false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e));
    if (!rk) die("consumer", e);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);

    long n = 0;
    long long start = now_ms(), last = 0;
    while ((max <= 0 || n < max) && now_ms() - start < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (last && now_ms() - last > idle_ms) break;
            if (!last && idle_ms && now_ms() - start > idle_ms + 5000) break; /* empty topic */
            continue;
        }
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        last = now_ms();
        n++;
        if (!strcmp(format, "value"))
            printf("%.*s\n", (int)m->len, (const char *)m->payload);
        else if (!strcmp(format, "hex")) {
            char *hx = malloc(m->len * 2 + 1);
            hex(hx, m->payload, m->len);
            puts(hx);
            free(hx);
        } else if (!strcmp(format, "json"))
            print_json(m);
        rd_kafka_message_destroy(m);
    }
    if (!strcmp(format, "count")) printf("%ld\n", n);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = getenv("KAFKA_BROKERS"), *topic = NULL, *delim = NULL, *fmt = "value";
    long count = 0, size = 100, max = 0, idle = 3000, timeout = 120000;
    if (argc < 2) goto usage;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "-b")) brokers = v;
        else if (!strcmp(a, "-t")) topic = v;
        else if (!strcmp(a, "-K")) delim = v;
        else if (!strcmp(a, "--count")) count = atol(v);
        else if (!strcmp(a, "--size")) size = atol(v);
        else if (!strcmp(a, "--max")) max = atol(v);
        else if (!strcmp(a, "--idle-ms")) idle = atol(v);
        else if (!strcmp(a, "--timeout-ms")) timeout = atol(v);
        else if (!strcmp(a, "--format")) fmt = v;
        else goto usage;
        i++;
    }
    if (!brokers || !topic) goto usage;
    if (!strcmp(argv[1], "produce")) return do_produce(brokers, topic, delim, count, size);
    if (!strcmp(argv[1], "consume")) return do_consume(brokers, topic, max, idle, timeout, fmt);
usage:
    fprintf(stderr, "usage: sskafka produce -b BROKERS -t TOPIC [-K DELIM] [--count N --size B]\n"
                    "       sskafka consume -b BROKERS -t TOPIC [--max N] [--idle-ms MS] "
                    "[--timeout-ms MS] [--format value|json|hex|count]\n");
    return 2;
}
