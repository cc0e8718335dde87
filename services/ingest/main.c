/* streamscore-ingest: events.ingest -> validate -> dedup -> events.raw | events.dlq.
 *
 *   streamscore-ingest                 run the stream
 *   streamscore-ingest backfill FILE   publish a file through the same path
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/http.h"
#include "common/log.h"
#include "common/service.h"
#include "ingest.h"

static const char summary[] =
    "Validates events from events.ingest (JSON or Confluent-framed Avro), drops duplicates by\n"
    "event id, writes canonical Avro events to events.raw and rejects to events.dlq.\n"
    "  streamscore-ingest backfill FILE   publish JSON lines / CSV / Avro container file";

typedef struct app {
    ingest_config cfg;
    struct event_base *base;
    ss_producer *producer;
    ss_consumer *consumer;
    ss_redis *redis;
    ss_http *http;
    ingest *ig;
    int redis_down, registry_down;
} app;

/* ------------------------------------------------------------ the stream */

static void on_message(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    app *a = arg;
    rd_kafka_headers_t *headers = NULL;
    (void)c;
    if (rd_kafka_message_headers(m, &headers)) headers = NULL;
    ingest_input input = {.value = m->payload,
                          .len = m->payload ? m->len : 0,
                          .key = m->key,
                          .keylen = m->key_len,
                          .headers = headers,
                          .topic = rd_kafka_topic_name(m->rkt),
                          .partition = m->partition,
                          .offset = m->offset,
                          .inflight = in};
    ingest_process(a->ig, &input);
}

/* Pause intake while a dependency is away; in-flight inputs wait, none is
 * dropped or dead-lettered for it. */
static void update_dependency_pause(app *a)
{
    if (!a->consumer) return;
    if (a->redis_down || a->registry_down)
        ss_consumer_pause(a->consumer, SS_PAUSE_DEPENDENCY);
    else
        ss_consumer_resume(a->consumer, SS_PAUSE_DEPENDENCY);
}

static void on_redis_state(ss_redis *r, int ready, void *arg)
{
    app *a = arg;
    (void)r;
    a->redis_down = !ready;
    ss_log(ready ? SS_LOG_INFO : SS_LOG_WARN,
           ready ? "redis ready: ingest resumes" : "redis unavailable: ingest pauses", NULL);
    update_dependency_pause(a);
}

static void on_blocked(ingest *ig, int blocked, void *arg)
{
    app *a = arg;
    (void)ig;
    a->registry_down = blocked;
    update_dependency_pause(a);
}

static int registry_ready(void *arg, char *why, size_t whylen)
{
    app *a = arg;
    if (!ingest_blocked(a->ig)) return 1;
    ss_strlcpy(why, "schema registry unreachable, inputs parked", whylen);
    return 0;
}

static int kafka_ready(void *arg, char *why, size_t whylen)
{
    app *a = arg;
    return ss_producer_ready(a->producer, why, whylen) &&
           ss_consumer_ready(a->consumer, why, whylen);
}

static void on_drained(void *arg)
{
    app *a = arg;
    ss_info("ingest drained, exiting");
    event_base_loopexit(a->base, NULL);
}

static void on_stop(void *arg)
{
    app *a = arg;
    ss_info("stopping: finishing in-flight inputs");
    if (a->http) ss_http_stop_accepting(a->http);
    ss_consumer_drain(a->consumer, (int)a->cfg.shutdown_timeout_ms, on_drained, a);
}

static int run_stream(app *a, const ss_kafka_opts *ko, char *err, size_t errlen)
{
    const char *topics[] = {a->cfg.topic_ingest};
    a->consumer = ss_consumer_new(a->base, ko, topics, 1, on_message, NULL, a, err, errlen);
    if (!a->consumer) return -1;
    ss_consumer_link_producer(a->consumer, a->producer);
    if (a->redis) ss_redis_on_state(a->redis, on_redis_state, a);
    ingest_on_blocked(a->ig, on_blocked, a);

    ss_http_opts ho = {.bind = a->cfg.http_bind, .port = (int)a->cfg.http_port};
    a->http = ss_http_new(a->base, &ho, err, errlen);
    if (!a->http) return -1;
    ss_http_add_ready_check(a->http, "kafka", kafka_ready, a);
    if (a->redis) ss_http_add_ready_check(a->http, "redis", ss_redis_ready_check, a->redis);
    ss_http_add_ready_check(a->http, "schema_registry", registry_ready, a);
    ss_http_add_ops_routes(a->http);
    ss_service_signals(a->base, on_stop, a);

    char port[16];
    snprintf(port, sizeof port, "%d", ss_http_port(a->http));
    ss_log(SS_LOG_INFO, "ingest running", "input", a->cfg.topic_ingest, "raw", a->cfg.topic_raw,
           "dlq", a->cfg.topic_dlq, "http_port", port, NULL);
    event_base_dispatch(a->base);
    ss_service_signals_free();
    return 0;
}

/* ------------------------------------------------------------ backfill */

static int run_backfill(app *a, const char *path, char *err, size_t errlen)
{
    backfill_counts n;
    int rc = backfill_run(a->ig, a->base, path, (size_t)a->cfg.backfill_window, &n, err, errlen);
    printf("accepted %llu rejected %llu duplicate %llu", (unsigned long long)n.accepted,
           (unsigned long long)n.rejected, (unsigned long long)n.duplicates);
    if (n.failed) printf(" failed %llu", (unsigned long long)n.failed);
    printf("\n");
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    app a = {0};
    char err[512] = "";
    int backfill = argc >= 2 && strcmp(argv[1], "backfill") == 0;
    if (backfill && argc != 3) {
        fprintf(stderr, "usage: streamscore-ingest backfill FILE\n");
        return 2;
    }
    ss_log_init("ingest");
    ss_config_main(backfill ? 1 : argc, argv, "streamscore-ingest", summary, ingest_config_table,
                   &a.cfg);
    int rc = 1;
    a.base = event_base_new();
    ss_kafka_opts ko = {.brokers = a.cfg.brokers,
                        .client_id =
                            backfill ? "streamscore-ingest-backfill" : "streamscore-ingest",
                        .group_id = a.cfg.group_id,
                        .delivery_timeout_ms = 0,
                        .linger_ms = a.cfg.linger_ms,
                        .max_inflight = (int)a.cfg.max_inflight};
    a.producer = ss_producer_new(a.base, &ko, err, sizeof err);
    if (!a.producer) goto done;
    if (a.cfg.dedup_horizon_ms > 0) {
        a.redis = ss_redis_new(a.base, a.cfg.redis_url, err, sizeof err);
        if (!a.redis) goto done;
    }
    a.ig = ingest_new(&a.cfg, a.base, a.producer, a.redis, err, sizeof err);
    if (!a.ig) goto done;
    if (backfill)
        rc = run_backfill(&a, argv[2], err, sizeof err) ? 1 : 0;
    else
        rc = run_stream(&a, &ko, err, sizeof err) ? 1 : 0;
done:
    if (rc && err[0]) ss_log(SS_LOG_ERROR, "ingest failed", "error", err, NULL);
    if (a.http) ss_http_free(a.http);
    if (a.consumer) ss_consumer_free(a.consumer);
    if (a.producer) ss_producer_free(a.producer);
    ingest_free(a.ig);
    if (a.redis) ss_redis_free(a.redis);
    if (a.base) event_base_free(a.base);
    ss_config_free(ingest_config_table, &a.cfg);
    return rc;
}
