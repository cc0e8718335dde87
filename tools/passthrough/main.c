/* passthrough - consume a topic, transform, produce to another, built only
 * from libs/common. The reference pipeline (and the shape of every service's
 * main.c): consume -> transform -> produce -> done (offset stored on ack).
 * Used by the at-least-once test and the kafka_passthrough benchmark. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/http.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/service.h"
#include "common/util.h"

typedef struct config {
    char *brokers, *in_topic, *out_topic, *group;
    int64_t exit_after, http_port, linger_ms;
} config;

static const ss_config_entry config_table[] = {
    SS_CFG_KAFKA_BROKERS(config, brokers),
    {"PT_IN", SS_CFG_STRING, "passthrough.in", SS_UNBOUNDED, offsetof(config, in_topic), "topic to consume"},
    {"PT_OUT", SS_CFG_STRING, "passthrough.out", SS_UNBOUNDED, offsetof(config, out_topic), "topic to produce to"},
    {"GROUP_ID", SS_CFG_STRING, "streamscore-passthrough", SS_UNBOUNDED, offsetof(config, group), "consumer group"},
    {"PT_EXIT_AFTER", SS_CFG_INT, "0", 0, 1e12, offsetof(config, exit_after), "exit after this many outputs are acknowledged and print the rate (0 = run until SIGTERM)"},
    {"HTTP_PORT", SS_CFG_INT, "0", 0, 65535, offsetof(config, http_port), "port for /metrics, /healthz, /readyz (0 = none)"},
    {"KAFKA_LINGER_MS", SS_CFG_INT, "5", 0, 1000, offsetof(config, linger_ms), "producer linger.ms"},
    SS_CFG_END};

typedef struct app {
    config cfg;
    struct event_base *base;
    ss_consumer *consumer;
    ss_producer *producer;
    ss_http *http;
    int64_t acked, first_us, last_us;
    ss_buf out;
} app;

static int on_ack(void *opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset)
{
    app *a = opaque;
    (void)partition;
    (void)offset;
    if (err) return 1; /* retry */
    a->acked++;
    a->last_us = ss_mono_us();
    if (a->cfg.exit_after && a->acked == a->cfg.exit_after) event_base_loopexit(a->base, NULL);
    return 0;
}

static void on_message(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    app *a = arg;
    (void)c;
    if (!a->first_us) a->first_us = ss_mono_us();
    /* transform */
    ss_buf_reset(&a->out);
    ss_buf_append(&a->out, "pt:", 3);
    ss_buf_append(&a->out, m->payload, m->len);
    /* produce; the delivery report releases the hold */
    ss_send s = {.topic = a->cfg.out_topic, .partition = RD_KAFKA_PARTITION_UA, .key = m->key,
                 .keylen = m->key_len, .value = a->out.data, .valuelen = a->out.len,
                 .input = in, .cb = on_ack, .opaque = a};
    if (ss_producer_send(a->producer, &s)) ss_logf(SS_LOG_ERROR, "passthrough: send failed");
    ss_inflight_done(in);
}

static void drained(void *arg)
{
    event_base_loopexit(((app *)arg)->base, NULL);
}

static void stop(void *arg)
{
    app *a = arg;
    if (a->http) ss_http_stop_accepting(a->http);
    ss_consumer_drain(a->consumer, 30000, drained, a);
}

static int consumer_ready(void *arg, char *why, size_t n)
{
    return ss_consumer_ready(arg, why, n);
}

int main(int argc, char **argv)
{
    app a;
    char err[512];
    memset(&a, 0, sizeof(a));
    ss_log_init("passthrough");
    ss_config_main(argc, argv, "passthrough", "Consume a topic and produce each message to another.",
                   config_table, &a.cfg);
    a.base = event_base_new();
    ss_kafka_opts ko = {.brokers = a.cfg.brokers, .client_id = "passthrough",
                        .group_id = a.cfg.group, .linger_ms = a.cfg.linger_ms, .max_inflight = getenv("PT_MAX_INFLIGHT") ? atoi(getenv("PT_MAX_INFLIGHT")) : 0};
    const char *topics[] = {a.cfg.in_topic};
    a.producer = ss_producer_new(a.base, &ko, err, sizeof(err));
    if (!a.producer) goto fail;
    a.consumer = ss_consumer_new(a.base, &ko, topics, 1, on_message, NULL, &a, err, sizeof(err));
    if (!a.consumer) goto fail;
    ss_consumer_link_producer(a.consumer, a.producer);
    if (a.cfg.http_port) {
        ss_http_opts ho = {.port = (int)a.cfg.http_port};
        if (!(a.http = ss_http_new(a.base, &ho, err, sizeof(err)))) goto fail;
        ss_http_add_ready_check(a.http, "kafka", consumer_ready, a.consumer);
        ss_http_add_ops_routes(a.http);
    }
    ss_service_signals(a.base, stop, &a);
    ss_logf(SS_LOG_INFO, "passthrough %s -> %s", a.cfg.in_topic, a.cfg.out_topic);
    event_base_dispatch(a.base);

    if (a.cfg.exit_after) {
        double secs = (double)(a.last_us - a.first_us) / 1e6;
        printf("passthrough: %lld msgs in %.3f s = %.0f msgs/s\n", (long long)a.acked, secs,
               secs > 0 ? (double)a.acked / secs : 0.0);
        fflush(stdout);
    }
    ss_http_free(a.http);
    ss_producer_free(a.producer); /* flush */
    ss_consumer_free(a.consumer);
    ss_service_signals_free();
    event_base_free(a.base);
    ss_buf_free(&a.out);
    ss_config_free(config_table, &a.cfg);
    return 0;
fail:
    ss_logf(SS_LOG_ERROR, "passthrough: %s", err);
    return 1;
}
