/* kafka_passthrough (plain) - the ceiling for the libs/common pass-through: a
 * plain librdkafka consume -> produce loop with the same producer settings
 * (idempotent, linger.ms 5), blocking polls, offsets auto-stored. Prints
 * "plain: N msgs in S s = R msgs/s" once N outputs are acknowledged.
 *   kafka_passthrough BROKERS IN OUT GROUP N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static long long acked;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o)
{
    (void)rk;
    (void)o;
    if (!m->err) acked++;
}

static rd_kafka_t *make(rd_kafka_type_t type, const char **kv, int n)
{
    char e[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    for (int i = 0; i < n; i += 2)
        if (rd_kafka_conf_set(c, kv[i], kv[i + 1], e, sizeof(e))) {
            fprintf(stderr, "%s: %s\n", kv[i], e);
            exit(1);
        }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(c, on_dr);
    rd_kafka_t *rk = rd_kafka_new(type, c, e, sizeof(e));
    if (!rk) {
        fprintf(stderr, "%s\n", e);
        exit(1);
    }
    return rk;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: kafka_passthrough BROKERS IN OUT GROUP N\n");
        return 2;
    }
    const char *brokers = argv[1], *in = argv[2], *out = argv[3], *group = argv[4];
    long long n = atoll(argv[5]);
    const char *pkv[] = {"bootstrap.servers", brokers, "enable.idempotence", "true",
                         "linger.ms", "5"};
    const char *ckv[] = {"bootstrap.servers", brokers, "group.id", group,
                         "auto.offset.reset", "earliest", "enable.partition.eof", "false"};
    rd_kafka_t *p = make(RD_KAFKA_PRODUCER, pkv, 6);
    rd_kafka_t *c = make(RD_KAFKA_CONSUMER, ckv, 8);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, t);
    rd_kafka_topic_partition_list_destroy(t);

    double first = 0, last = 0;
    char buf[4096];
    while (acked < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 10);
        if (m && !m->err) {
            if (!first) first = now_s();
            size_t len = m->len + 3 < sizeof(buf) ? m->len : sizeof(buf) - 3;
            memcpy(buf, "pt:", 3);
            memcpy(buf + 3, m->payload, len);
            while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                                     RD_KAFKA_V_VALUE(buf, len + 3),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
        }
        if (m) rd_kafka_message_destroy(m);
        rd_kafka_poll(p, 0);
        if (acked >= n) last = now_s();
    }
    if (!last) last = now_s();
    printf("plain: %lld msgs in %.3f s = %.0f msgs/s\n", acked, last - first,
           (double)acked / (last - first));
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_flush(p, 5000);
    rd_kafka_destroy(p);
    return 0;
}
