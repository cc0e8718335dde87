/* bench/drift - load generator and Kafka helper for the drift benchmark and
 * the drift integration test (build/bench/drift).
 *
 *   drift gen --brokers B --topic T --events N [--features 50] [--seed S]
 *             [--schema-dir schemas] [--shift-feature K]
 *       FeatureVector records (features f00..f<F-1> ~ N(10, 2), one category
 *       "channel") Confluent-framed through libs/common's codec, produced to T.
 *   drift produce --brokers B --topic T   < frames
 *       frames on stdin: 4-byte BE key length, key, 4-byte BE value length, value.
 *   drift consume --brokers B --topic T [--idle-ms 3000] [--max N]  > frames
 *       every partition from the beginning; values as 4-byte BE length + bytes;
 *       stops after --idle-ms without a message or --max messages.
 *   drift passthrough --brokers B --topic IN --to OUT --max N
 *       the Kafka ceiling: consume IN (consumer group), produce every message
 *       to OUT, until N are delivered; prints events/s from the first message
 *       consumed to the last delivery report.
 */
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro.h"
#include "common/util.h"

typedef struct opts {
    const char *cmd, *brokers, *topic, *schema_dir, *to;
    long events, features, max, idle_ms, shift_feature;
    uint64_t seed;
} opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: drift gen|produce|consume|passthrough --brokers B --topic T [--to T2] "
            "[--events N]\n"
            "       [--features F]\n"
            "       [--seed S] [--schema-dir D] [--shift-feature K] [--idle-ms MS] [--max N]\n");
    exit(2);
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){
        .schema_dir = "schemas", .features = 50, .idle_ms = 3000, .seed = 1, .shift_feature = -1};
    if (argc < 2) return -1;
    o->cmd = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--brokers"))
            o->brokers = v;
        else if (!strcmp(k, "--topic"))
            o->topic = v;
        else if (!strcmp(k, "--to"))
            o->to = v;
        else if (!strcmp(k, "--schema-dir"))
            o->schema_dir = v;
        else if (!strcmp(k, "--events"))
            o->events = atol(v);
        else if (!strcmp(k, "--features"))
            o->features = atol(v);
        else if (!strcmp(k, "--max"))
            o->max = atol(v);
        else if (!strcmp(k, "--idle-ms"))
            o->idle_ms = atol(v);
        else if (!strcmp(k, "--shift-feature"))
            o->shift_feature = atol(v);
        else if (!strcmp(k, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else
            return -1;
    }
    return o->brokers && o->topic ? 0 : -1;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad =
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != RD_KAFKA_CONF_OK;
    if (type == RD_KAFKA_PRODUCER) {
        bad |= rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err) != RD_KAFKA_CONF_OK;
        bad |=
            rd_kafka_conf_set(conf, "compression.type", "lz4", err, sizeof err) != RD_KAFKA_CONF_OK;
        bad |= rd_kafka_conf_set(conf, "queue.buffering.max.messages", "500000", err, sizeof err) !=
               RD_KAFKA_CONF_OK;
    } else {
        bad |= rd_kafka_conf_set(conf, "group.id", "drift-bench-tool", err, sizeof err) !=
               RD_KAFKA_CONF_OK;
        bad |= rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) !=
               RD_KAFKA_CONF_OK;
        bad |= rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err) !=
               RD_KAFKA_CONF_OK;
    }
    if (bad) {
        fprintf(stderr, "drift: bad kafka config: %s\n", err);
        exit(1);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "drift: cannot create kafka client: %s\n", err);
        exit(1);
    }
    return rk;
}

static void send_one(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen,
                     const void *val, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                              RD_KAFKA_V_VALUE((void *)val, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "drift: produce to %s failed: %s\n", topic, rd_kafka_err2str(e));
            exit(1);
        }
        rd_kafka_poll(rk, 50);
    }
    rd_kafka_poll(rk, 0);
}

static void finish(rd_kafka_t *rk)
{
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "drift: flush timed out, %d messages outstanding\n", rd_kafka_outq_len(rk));
        exit(1);
    }
    rd_kafka_destroy(rk);
}

static int read_frame(FILE *f, ss_buf *b)
{
    unsigned char hdr[4];
    if (fread(hdr, 1, 4, f) != 4) return -1;
    size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    ss_buf_reset(b);
    ss_buf_reserve(b, n + 1);
    if (n && fread(b->data, 1, n, f) != n) return -1;
    b->len = n;
    return 0;
}

static int cmd_produce(const opts *o)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, o->brokers);
    ss_buf key, val;
    ss_buf_init(&key);
    ss_buf_init(&val);
    long n = 0;
    while (read_frame(stdin, &key) == 0 && read_frame(stdin, &val) == 0) {
        send_one(rk, o->topic, key.data, key.len, val.data, val.len);
        n++;
    }
    finish(rk);
    ss_buf_free(&key);
    ss_buf_free(&val);
    fprintf(stderr, "drift: produced %ld records to %s\n", n, o->topic);
    return 0;
}

static int cmd_consume(const opts *o)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, o->brokers);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, o->topic, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1) {
        fprintf(stderr, "drift: no metadata for %s\n", o->topic);
        return 1;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, o->topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    long n = 0, idle = 0;
    while ((o->max <= 0 || n < o->max) && idle < o->idle_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle += 100;
            continue;
        }
        if (!m->err) {
            unsigned char hdr[4] = {(unsigned char)(m->len >> 24), (unsigned char)(m->len >> 16),
                                    (unsigned char)(m->len >> 8), (unsigned char)m->len};
            fwrite(hdr, 1, 4, stdout);
            fwrite(m->payload, 1, m->len, stdout);
            n++;
            idle = 0;
        }
        rd_kafka_message_destroy(m);
    }
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    fprintf(stderr, "drift: consumed %ld records from %s\n", n, o->topic);
    return 0;
}

static long delivered;
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (!m->err) delivered++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_passthrough(const opts *o)
{
    char err[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(pc, "bootstrap.servers", o->brokers, err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(pc, "linger.ms", "5", err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "drift: %s\n", err);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    rd_kafka_t *cons = client(RD_KAFKA_CONSUMER, o->brokers);
    if (!prod) {
        fprintf(stderr, "drift: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(cons, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    long consumed = 0;
    double t0 = 0, deadline = now_s() + 120;
    while (consumed < o->max && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (m && !m->err) {
            if (!consumed) t0 = now_s();
            consumed++;
            send_one(prod, o->to, m->key, m->key_len, m->payload, m->len);
        }
        if (m) rd_kafka_message_destroy(m);
    }
    while (delivered < consumed && now_s() < deadline)
        rd_kafka_poll(prod, 10);
    double t1 = now_s();
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    if (consumed < o->max || delivered < consumed) {
        fprintf(stderr, "drift: passthrough moved %ld of %ld\n", delivered, o->max);
        return 1;
    }
    printf("%.0f\n", (double)consumed / (t1 - t0));
    return 0;
}

static uint64_t rng;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(2.0 * M_PI * unif());
}

static void set_str(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f;
    avro_value_get_by_name(rec, name, &f, NULL);
    avro_value_set_string(&f, v);
}

static void set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    avro_value_get_by_name(rec, name, &f, NULL);
    avro_value_set_long(&f, v);
}

static int cmd_gen(const opts *o)
{
    char err[512];
    ss_avro_registry *reg = ss_avro_registry_new(o->schema_dir, NULL, err, sizeof err);
    ss_avro_codec *codec =
        reg ? ss_avro_codec_new(reg, "FeatureVector", NULL, err, sizeof err) : NULL;
    if (!codec) {
        fprintf(stderr, "drift: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, o->brokers);
    rng = o->seed * 2654435761ULL + 1;
    ss_buf out;
    ss_buf_init(&out);
    char id[64], card[32], name[32];
    static const char *channels[4] = {"POS", "ECOM", "ATM", "MOTO"};
    for (long e = 0; e < o->events; e++) {
        avro_value_t *v = ss_avro_codec_new_value(codec), map, elem, branch;
        snprintf(id, sizeof id, "g%llu-%ld", (unsigned long long)o->seed, e);
        snprintf(card, sizeof card, "card-%ld", e % 1000);
        set_str(v, "event_id", id);
        set_long(v, "event_time", 1700000000000LL + e);
        set_str(v, "entity_id", card);
        set_str(v, "definitions_version", "bench");
        set_long(v, "computed_at", 1700000000000LL + e);
        avro_value_get_by_name(v, "entities", &map, NULL);
        avro_value_add(&map, "card", &elem, NULL, NULL);
        avro_value_set_string(&elem, card);
        avro_value_get_by_name(v, "features", &map, NULL);
        for (long f = 0; f < o->features; f++) {
            snprintf(name, sizeof name, "f%02ld", f);
            avro_value_add(&map, name, &elem, NULL, NULL);
            avro_value_set_branch(&elem, 1, &branch);
            avro_value_set_double(&branch,
                                  10.0 + 2.0 * (gauss() + (f == o->shift_feature ? 1.0 : 0.0)));
        }
        avro_value_get_by_name(v, "categories", &map, NULL);
        avro_value_add(&map, "channel", &elem, NULL, NULL);
        double u = unif();
        avro_value_set_string(&elem, channels[u < 0.6 ? 0 : u < 0.95 ? 1 : u < 0.99 ? 2 : 3]);
        ss_buf_reset(&out);
        if (ss_avro_encode(codec, v, &out, err, sizeof err) < 0) {
            fprintf(stderr, "drift: encode: %s\n", err);
            return 1;
        }
        send_one(rk, o->topic, card, strlen(card), out.data, out.len);
    }
    finish(rk);
    ss_buf_free(&out);
    ss_avro_codec_free(codec);
    ss_avro_registry_free(reg);
    fprintf(stderr, "drift: generated %ld feature vectors (%ld features) to %s\n", o->events,
            o->features, o->topic);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o) < 0) usage();
    if (!strcmp(o.cmd, "produce")) return cmd_produce(&o);
    if (!strcmp(o.cmd, "consume")) return cmd_consume(&o);
    if (!strcmp(o.cmd, "gen")) return cmd_gen(&o);
    if (!strcmp(o.cmd, "passthrough") && o.to && o.max > 0) return cmd_passthrough(&o);
    usage();
}
