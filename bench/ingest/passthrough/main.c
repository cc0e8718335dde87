/* bench/ingest: the ceiling for the ingest benchmark - a bare librdkafka
 * consume -> produce pass-through (no parsing, no validation, no Redis) with
 * the producer settings the services use (idempotent, acks=all, linger 5 ms).
 *
 *   ingest-passthrough -b BROKERS -i IN_TOPIC -o OUT_TOPIC -n COUNT [-g GROUP]
 * Consumes COUNT messages from the beginning of IN_TOPIC, produces each to
 * OUT_TOPIC unchanged, waits for every delivery report and prints
 * "passthrough: COUNT msgs in S s = R msgs/s", S from the first message
 * consumed to the last delivery report (the run script times ingest the same
 * way).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static long delivered, failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char e[256];
    if (rd_kafka_conf_set(c, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "passthrough: %s: %s\n", k, e);
        exit(2);
    }
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;

}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *in = NULL, *out = NULL, *group = "bench-passthrough";
    long count = 0;
    int opt;
    while ((opt = getopt(argc, argv, "b:i:o:n:g:")) != -1) {
        switch (opt) {
        case 'b':
            brokers = optarg;
            break;
        case 'i':
            in = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'g':
            group = optarg;
            break;
        default:
            break;
        }
    }
    if (!brokers || !in || !out || count <= 0) {
        fprintf(stderr, "usage: ingest-passthrough -b BROKERS -i IN_TOPIC -o OUT_TOPIC -n COUNT [-g GROUP]\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", brokers);
    set(pc, "enable.idempotence", "true");
    set(pc, "acks", "all");
    set(pc, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(pc, on_dr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", brokers);
    set(cc, "group.id", group);
    set(cc, "auto.offset.reset", "earliest");
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!p || !c) {
        fprintf(stderr, "passthrough: %s\n", err);
        return 2;
    }
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    long consumed = 0;
    double t0 = 0, deadline = now_s() + 120;
    while (consumed < count && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        rd_kafka_poll(p, 0);
        if (!m) continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!consumed) t0 = now_s();
        consumed++;
        for (;;) {
            rd_kafka_resp_err_t e =
                rd_kafka_producev(p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                                  RD_KAFKA_V_VALUE(m->payload, m->len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
            rd_kafka_poll(p, 10);
        }
        rd_kafka_message_destroy(m);
    }
    while (delivered + failed < consumed && now_s() < deadline)
        rd_kafka_poll(p, 10);
    double secs = now_s() - t0;
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_flush(p, 5000);
    rd_kafka_destroy(p);
    if (consumed < count || failed) {
        fprintf(stderr, "passthrough: consumed %ld of %ld, %ld deliveries failed\n", consumed,
                count, failed);
        return 1;
    }
    printf("passthrough: %ld msgs in %.2f s = %.0f msgs/s (first consumed to last acked)\n",
           consumed, secs, (double)consumed / secs);
    return 0;
}
