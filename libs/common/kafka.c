/* kafka.c - librdkafka bridged into libevent; at-least-once offset tracking.
 *
 * Bridge: rd_kafka_queue_io_event_enable() writes one byte to a non-blocking
 * pipe whenever a queue turns non-empty; a persistent read event drains the
 * pipe and then the queue with timeout 0. A queue left non-empty on purpose
 * (batch cap) is re-activated by hand, since no new byte will come. A slow
 * timer polls as a safety net and drives producer retries.
 *
 * Offsets: each partition keeps its unfinished inputs in offset order; an
 * input finishes when its holds reach zero, and the stored offset advances
 * only over a finished prefix. See kafka.h.
 */
#include "common/kafka.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"

#define SS_TICK_MS 100         /* safety-net poll and retry timer */
#define SS_KICK_MS 5           /* consumer queue empty this long with more on the broker: fetch_kick() */
#define SS_RETRY_BACKOFF_MS 500 /* delay before re-sending a failed delivery */
/* Short pauses (in-flight cap, producer back-pressure) just stop draining the
 * consumer queue: librdkafka keeps what it prefetched. Pausing partitions in
 * librdkafka purges that prefetch and costs a re-fetch (measured: 10x less
 * throughput when the in-flight cap pauses that way), so it is kept for
 * dependency outages, shutdown, and soft pauses that last longer than this. */
#define SS_SOFT_PAUSE_MAX_US 5000000
#define SS_HARD_REASONS (SS_PAUSE_DEPENDENCY | SS_PAUSE_SHUTDOWN | SS_PAUSE_RETRY)
#define SS_RETRY_MIN_MS 250
#define SS_RETRY_MAX_MS 10000

/* ------------------------------------------------------------ shared pieces */

typedef struct bridge {
    int fds[2];
    struct event *ev;
} bridge;

static int bridge_open(bridge *b, struct event_base *base, rd_kafka_queue_t *q,
                       event_callback_fn fn, void *arg, char *err, size_t errlen)
{
    if (pipe2(b->fds, O_NONBLOCK | O_CLOEXEC))
        return ss_err(err, errlen, "kafka: pipe: %s", strerror(errno));
    rd_kafka_queue_io_event_enable(q, b->fds[1], "1", 1);
    b->ev = event_new(base, b->fds[0], EV_READ | EV_PERSIST, fn, arg);
    event_add(b->ev, NULL);
    return 0;
}

static void bridge_clear(bridge *b)
{
    char buf[256];
    while (read(b->fds[0], buf, sizeof(buf)) > 0)
        ;
}

static void bridge_close(bridge *b, rd_kafka_queue_t *q)
{
    if (q) rd_kafka_queue_io_event_enable(q, -1, NULL, 0);
    if (b->ev) event_free(b->ev);
    if (b->fds[0] > 0) close(b->fds[0]);
    if (b->fds[1] > 0) close(b->fds[1]);
    b->ev = NULL;
    b->fds[0] = b->fds[1] = -1;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK)
        return ss_err(err, errlen, "kafka config %s=%s: %s", k, v, e);
    return 0;
}

int ss_kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    extern char **environ;
    static const char prefix[] = "KAFKA_CONF_";
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0) continue;
        const char *name = *e + sizeof(prefix) - 1, *eq = strchr(name, '=');
        if (!eq || eq == name) continue;
        char key[128];
        size_t n = (size_t)(eq - name) < sizeof(key) - 1 ? (size_t)(eq - name) : sizeof(key) - 1;
        for (size_t i = 0; i < n; i++) key[i] = name[i] == '_' ? '.' : (char)tolower(name[i]);
        key[n] = '\0';
        if (conf_set(conf, key, eq + 1, err, errlen)) return -1;
    }
    return 0;
}

/* librdkafka's own log lines, as JSON lines like ours (syslog levels) */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ss_log_level l = level <= 3 ? SS_LOG_ERROR : level <= 5 ? SS_LOG_WARN
                   : level == 6 ? SS_LOG_INFO : SS_LOG_DEBUG;
    ss_log(l, buf, "client", rd_kafka_name(rk), "facility", fac, NULL);
}

static int conf_common(rd_kafka_conf_t *conf, const ss_kafka_opts *o, char *err, size_t errlen)
{
    char v[32];
    rd_kafka_conf_set_log_cb(conf, kafka_log);
    if (conf_set(conf, "bootstrap.servers", o->brokers ? o->brokers : "localhost:9092", err, errlen))
        return -1;
    if (o->client_id && conf_set(conf, "client.id", o->client_id, err, errlen)) return -1;
    snprintf(v, sizeof(v), "%d", o->stats_interval_ms ? o->stats_interval_ms : 5000);
    if (o->stats_interval_ms < 0) snprintf(v, sizeof(v), "0");
    return conf_set(conf, "statistics.interval.ms", v, err, errlen);
}

/* Broker reachability from error and stats callbacks. */
typedef struct health {
    int brokers_down;
    char why[160];
} health;

static void health_error(health *h, const char *who, int err, const char *reason)
{
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        h->brokers_down = 1;
        ss_strlcpy(h->why, "all brokers down", sizeof(h->why));
    }
    ss_log(err == RD_KAFKA_RESP_ERR__FATAL ? SS_LOG_ERROR : SS_LOG_WARN, "kafka error", "client",
           who, "error", rd_kafka_err2name((rd_kafka_resp_err_t)err), "reason", reason, NULL);
}

/* Stats: broker states for readiness; consumer lag per partition. */
static void health_stats(health *h, const char *json, int consumer)
{
    json_error_t je;
    json_t *root = json_loads(json, 0, &je), *brokers, *topics, *b, *t;
    const char *k;
    int up = 0;
    if (!root) return;
    brokers = json_object_get(root, "brokers");
    json_object_foreach(brokers, k, b)
    {
        const char *st = json_string_value(json_object_get(b, "state"));
        int32_t id = (int32_t)json_integer_value(json_object_get(b, "nodeid"));
        if (id >= 0 && st && strcmp(st, "UP") == 0) up++;
    }
    if (up) h->brokers_down = 0;
    topics = json_object_get(root, "topics");
    if (consumer) {
        json_object_foreach(topics, k, t)
        {
            const char *pk;
            json_t *pv;
            json_object_foreach(json_object_get(t, "partitions"), pk, pv)
            {
                char labels[256];
                json_int_t lag = json_integer_value(json_object_get(pv, "consumer_lag"));
                if (atoi(pk) < 0 || !json_object_get(pv, "consumer_lag")) continue;
                if (lag < 0) continue;
                snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%s\"", k, pk);
                ss_metric_set(ss_gauge("ss_kafka_consumer_lag",
                                       "Messages behind the partition's high watermark", labels),
                              (double)lag);
            }
        }
    } else {
        ss_metric_set(ss_gauge("ss_kafka_producer_queue_messages",
                               "Messages in the producer's queues awaiting delivery", NULL),
                      (double)json_integer_value(json_object_get(root, "msg_cnt")));
    }
    json_decref(root);
}

/* ------------------------------------------------------------------ producer */

typedef struct pmsg { /* per-message delivery context, and a queued copy when needed */
    struct pmsg *next;
    ss_producer *p;
    ss_inflight *input;
    ss_delivery_cb cb;
    void *opaque;
    /* copy, only for backlog / retry entries */
    char *topic;
    int32_t partition;
    void *key, *value;
    size_t keylen, valuelen;
    rd_kafka_headers_t *headers;
    int64_t due_us; /* retry time */
} pmsg;

struct ss_producer {
    struct event_base *base;
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    bridge br;
    struct event *tick;
    pmsg *backlog, *backlog_tail; /* waiting for queue space or a retry, in order */
    size_t backlog_len;
    size_t outstanding;
    int congested;
    ss_consumer **linked;
    int nlinked;
    health health;
    int64_t last_fail_log_us;
    ss_metric *m_sent, *m_acked, *m_failed, *m_backlog;
};

static void producer_congestion(ss_producer *p, int on);
static void consumer_unlink_producer(ss_consumer *c, ss_producer *p);

static rd_kafka_resp_err_t produce_raw(ss_producer *p, const char *topic, int32_t partition,
                                       const void *key, size_t keylen, const void *value,
                                       size_t valuelen, rd_kafka_headers_t *hdrs, pmsg *ctx)
{
    if (hdrs)
        return rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, valuelen),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                                 RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    return rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, valuelen),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ctx),
                             RD_KAFKA_V_END);
}

static void pmsg_free_copy(pmsg *m)
{
    ss_free(m->topic);
    ss_free(m->key);
    ss_free(m->value);
    if (m->headers) rd_kafka_headers_destroy(m->headers);
    m->topic = NULL;
    m->key = m->value = NULL;
    m->headers = NULL;
}

static void backlog_push(ss_producer *p, pmsg *m)
{
    m->next = NULL;
    if (p->backlog_tail)
        p->backlog_tail->next = m;
    else
        p->backlog = m;
    p->backlog_tail = m;
    p->backlog_len++;
    ss_metric_set(p->m_backlog, (double)p->backlog_len);
}

/* Re-send queued messages in order while the local queue has room. */
static void backlog_drain(ss_producer *p)
{
    int64_t now = ss_mono_us();
    while (p->backlog) {
        pmsg *m = p->backlog;
        if (m->due_us > now) break;
        rd_kafka_resp_err_t e = produce_raw(p, m->topic, m->partition, m->key, m->keylen,
                                            m->value, m->valuelen, m->headers, m);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            producer_congestion(p, 1);
            break;
        }
        p->backlog = m->next;
        if (!p->backlog) p->backlog_tail = NULL;
        p->backlog_len--;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            m->headers = NULL; /* librdkafka owns them now */
            pmsg_free_copy(m);
            ss_metric_inc(p->m_sent);
        } else {
            /* a permanent local error: keep the message, try again later */
            ss_logf(SS_LOG_ERROR, "kafka produce to %s failed: %s; will retry", m->topic,
                    rd_kafka_err2str(e));
            m->due_us = now + SS_RETRY_BACKOFF_MS * 1000;
            backlog_push(p, m);
            break;
        }
    }
    ss_metric_set(p->m_backlog, (double)p->backlog_len);
    if (!p->backlog_len) producer_congestion(p, 0);
}

static void finish(ss_producer *p, pmsg *m)
{
    ss_inflight *in = m->input;
    p->outstanding--;
    pmsg_free_copy(m);
    ss_free(m);
    if (in) ss_inflight_release(in);
}

/* Keep a copy of a failed message for a later retry. */
static void retry_later(ss_producer *p, pmsg *m, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *h = NULL;
    m->topic = ss_strdup(rd_kafka_topic_name(rkm->rkt));
    m->partition = RD_KAFKA_PARTITION_UA;
    m->key = rkm->key ? ss_strndup(rkm->key, rkm->key_len) : NULL;
    m->keylen = rkm->key_len;
    m->value = rkm->payload ? ss_strndup(rkm->payload, rkm->len) : NULL;
    m->valuelen = rkm->len;
    if (rd_kafka_message_headers(rkm, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
        m->headers = rd_kafka_headers_copy(h);
    m->due_us = ss_mono_us() + SS_RETRY_BACKOFF_MS * 1000;
    backlog_push(p, m);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    ss_producer *p = opaque;
    pmsg *m = rkm->_private;
    (void)rk;
    if (!m) return;
    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ss_metric_inc(p->m_acked);
        p->health.brokers_down = 0;
        if (m->cb) m->cb(m->opaque, rkm->err, rkm->partition, rkm->offset);
        finish(p, m);
        return;
    }
    ss_metric_inc(p->m_failed);
    int retry = m->cb ? m->cb(m->opaque, rkm->err, rkm->partition, rkm->offset) : 1;
    if (!retry) {
        finish(p, m);
        return;
    }
    int64_t now = ss_mono_us();
    if (now - p->last_fail_log_us > 1000000) {
        p->last_fail_log_us = now;
        ss_log(SS_LOG_WARN, "kafka delivery failed; retrying", "topic", rd_kafka_topic_name(rkm->rkt),
               "error", rd_kafka_err2str(rkm->err), NULL);
    }
    retry_later(p, m, rkm);
}

static void producer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    ss_producer *p = opaque;
    (void)rk;
    health_error(&p->health, "producer", err, reason);
}

static int producer_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    ss_producer *p = opaque;
    (void)rk;
    (void)len;
    health_stats(&p->health, json, 0);
    return 0;
}

static void producer_serve(ss_producer *p)
{
    while (rd_kafka_poll(p->rk, 0) > 0)
        ;
    if (p->backlog) backlog_drain(p);
}

static void producer_on_queue(evutil_socket_t fd, short what, void *arg)
{
    ss_producer *p = arg;
    (void)fd;
    (void)what;
    bridge_clear(&p->br);
    producer_serve(p);
}

static void producer_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    producer_serve(arg);
}

ss_producer *ss_producer_new(struct event_base *base, const ss_kafka_opts *o, char *err,
                             size_t errlen)
{
    char v[32], e[256];
    ss_producer *p = ss_calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct timeval tv = {0, SS_TICK_MS * 1000};

    p->base = base;
    p->br.fds[0] = p->br.fds[1] = -1;
    if (conf_common(conf, o, err, errlen)) goto err;
    if (conf_set(conf, "enable.idempotence", "true", err, errlen)) goto err;
    snprintf(v, sizeof(v), "%lld", (long long)o->delivery_timeout_ms);
    if (conf_set(conf, "message.timeout.ms", v, err, errlen)) goto err;
    snprintf(v, sizeof(v), "%lld", (long long)(o->linger_ms ? o->linger_ms : 5));
    if (conf_set(conf, "linger.ms", v, err, errlen)) goto err;
    if (ss_kafka_conf_from_env(conf, err, errlen)) goto err;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, producer_error);
    rd_kafka_conf_set_stats_cb(conf, producer_stats);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!p->rk) {
        ss_err(err, errlen, "kafka producer: %s", e);
        goto err;
    }
    conf = NULL; /* owned by rk */
    p->mainq = rd_kafka_queue_get_main(p->rk);
    if (bridge_open(&p->br, base, p->mainq, producer_on_queue, p, err, errlen)) goto err;
    p->tick = event_new(base, -1, EV_PERSIST, producer_on_tick, p);
    event_add(p->tick, &tv);
    p->m_sent = ss_counter("ss_kafka_produced_total", "Messages handed to the producer", NULL);
    p->m_acked = ss_counter("ss_kafka_delivered_total", "Messages acknowledged by Kafka", NULL);
    p->m_failed = ss_counter("ss_kafka_delivery_failures_total",
                             "Delivery reports with an error (each is retried or reported)", NULL);
    p->m_backlog = ss_gauge("ss_kafka_producer_backlog",
                            "Messages waiting for local queue space or a retry", NULL);
    return p;
err:
    if (conf) rd_kafka_conf_destroy(conf);
    ss_producer_free(p);
    return NULL;
}

static void producer_congestion(ss_producer *p, int on)
{
    if (p->congested == on) return;
    p->congested = on;
    ss_logf(on ? SS_LOG_WARN : SS_LOG_INFO, "kafka producer %s",
            on ? "queue full: pausing input" : "queue drained: resuming input");
    for (int i = 0; i < p->nlinked; i++) {
        if (on)
            ss_consumer_pause(p->linked[i], SS_PAUSE_BACKPRESSURE);
        else
            ss_consumer_resume(p->linked[i], SS_PAUSE_BACKPRESSURE);
    }
}

int ss_producer_send(ss_producer *p, const ss_send *s)
{
    if (!p || !s || !s->topic) return -1;
    pmsg *m = ss_calloc(1, sizeof(*m));
    m->p = p;
    m->input = s->input;
    m->cb = s->cb;
    m->opaque = s->opaque;
    if (s->input) ss_inflight_hold(s->input);
    p->outstanding++;

    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__QUEUE_FULL;
    if (!p->backlog) /* keep order behind anything already waiting */
        e = produce_raw(p, s->topic, s->partition, s->key, s->keylen, s->value, s->valuelen,
                        s->headers, m);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ss_metric_inc(p->m_sent);
        return 0;
    }
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        m->topic = ss_strdup(s->topic);
        m->partition = s->partition;
        m->key = s->key ? ss_strndup(s->key, s->keylen) : NULL;
        m->keylen = s->keylen;
        m->value = s->value ? ss_strndup(s->value, s->valuelen) : NULL;
        m->valuelen = s->valuelen;
        m->headers = s->headers;
        backlog_push(p, m);
        producer_congestion(p, 1);
        return 0;
    }
    ss_logf(SS_LOG_ERROR, "kafka produce to %s failed: %s", s->topic, rd_kafka_err2str(e));
    if (s->headers) rd_kafka_headers_destroy(s->headers);
    p->outstanding--;
    ss_free(m);
    if (s->input) ss_inflight_release(s->input);
    return -1;
}

size_t ss_producer_outstanding(const ss_producer *p)
{
    return p->outstanding;
}

int ss_producer_flush(ss_producer *p, int timeout_ms)
{
    int64_t end = ss_mono_us() + (int64_t)timeout_ms * 1000;
    while (p->outstanding && ss_mono_us() < end) {
        producer_serve(p);
        if (p->backlog && p->backlog->due_us > ss_mono_us()) usleep(10000);
        rd_kafka_flush(p->rk, 50);
        producer_serve(p);
    }
    return p->outstanding ? -1 : 0;
}

int ss_producer_ready(ss_producer *p, char *why, size_t whylen)
{
    if (p->health.brokers_down) {
        if (why) ss_strlcpy(why, p->health.why, whylen);
        return 0;
    }
    return 1;
}

rd_kafka_t *ss_producer_handle(ss_producer *p)
{
    return p->rk;
}

void ss_producer_free(ss_producer *p)
{
    if (!p) return;
    if (p->rk) {
        if (ss_producer_flush(p, 10000))
            ss_logf(SS_LOG_ERROR, "kafka producer closing with %zu undelivered messages",
                    p->outstanding);
    }
    while (p->backlog) {
        pmsg *m = p->backlog;
        p->backlog = m->next;
        pmsg_free_copy(m);
        ss_free(m);
    }
    for (int i = 0; i < p->nlinked; i++) /* unlink from consumers, either may go first */
        consumer_unlink_producer(p->linked[i], p);
    bridge_close(&p->br, p->mainq);
    if (p->tick) event_free(p->tick);
    if (p->mainq) rd_kafka_queue_destroy(p->mainq);
    if (p->rk) rd_kafka_destroy(p->rk);
    ss_free(p->linked);
    ss_free(p);
}

/* ------------------------------------------------------------------ consumer */

typedef struct part_state {
    struct part_state *next;
    char *topic;
    int32_t partition;
    ss_inflight *head, *tail; /* unfinished inputs, offset order */
    int assigned;
    int nin;            /* inflights referencing this state */
    int64_t store_next; /* offset to store at the next flush, -1 = none */
    int64_t fetch_next; /* offset after the last message consumed, -1 = none yet */
} part_state;

struct ss_inflight {
    ss_inflight *next;
    part_state *ps;
    ss_consumer *c;
    int64_t offset;
    int holds;
    int done_called;
};

/* A message the service could not handle yet (ss_consumer_defer), kept with
 * its inflight until it is handed over again. */
typedef struct deferred {
    struct deferred *next;
    rd_kafka_message_t *m;
    ss_inflight *in;
} deferred;

struct ss_consumer {
    struct event_base *base;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    bridge br;
    struct event *tick;
    ss_message_cb cb;
    ss_batch_end_cb batch_end;
    void *arg;
    int batch_max;
    size_t max_inflight;
    size_t inflight;
    part_state *parts;
    int nassigned;
    int joined;
    int paused;           /* reason mask */
    int applied_pause;    /* whether partitions are paused in librdkafka */
    int64_t soft_since_us; /* when the current pause began */
    struct event *kick_ev; /* one-shot: the queue ran dry, see fetch_kick() */
    int kicked;            /* no message since the last kick */
    ss_producer **producers;
    int nproducers;
    health health;
    /* drain */
    struct event *store_ev; /* flushes offset stores once per loop iteration */
    int store_dirty;
    struct event *drain_ev;
    int64_t drain_deadline_us;
    void (*drain_done)(void *);
    void *drain_arg;
    int closed;
    /* ss_consumer_defer: messages waiting for another try, in order */
    deferred *dhead, *dtail;
    int defer_now;             /* the callback just deferred its message */
    int retry_ms;              /* next back-off */
    struct event *retry_ev;
    ss_metric *m_consumed, *m_inflight, *m_paused, *m_rebalances, *m_kicks, *m_deferred;
};

static part_state *part_get(ss_consumer *c, const char *topic, int32_t partition, int create)
{
    for (part_state *ps = c->parts; ps; ps = ps->next)
        if (ps->partition == partition && strcmp(ps->topic, topic) == 0) return ps;
    if (!create) return NULL;
    part_state *ps = ss_calloc(1, sizeof(*ps));
    ps->topic = ss_strdup(topic);
    ps->partition = partition;
    ps->store_next = -1;
    ps->fetch_next = -1;
    ps->next = c->parts;
    c->parts = ps;
    return ps;
}

static void store_flush(ss_consumer *c);
static void defer_drop(ss_consumer *c, part_state *ps, int finish);

static void part_maybe_free(ss_consumer *c, part_state *ps)
{
    if (ps->assigned || ps->nin) return;
    if (ps->store_next >= 0) store_flush(c);
    for (part_state **pp = &c->parts; *pp; pp = &(*pp)->next) {
        if (*pp == ps) {
            *pp = ps->next;
            break;
        }
    }
    ss_free(ps->topic);
    ss_free(ps);
}

/* Store every pending offset in one call: one rd_kafka_offsets_store per
 * loop iteration instead of one per acknowledged message. */
static void store_flush(ss_consumer *c)
{
    int n = 0;
    rd_kafka_topic_partition_list_t *l;
    c->store_dirty = 0;
    for (part_state *ps = c->parts; ps; ps = ps->next) n += ps->store_next >= 0;
    if (!n) return;
    l = rd_kafka_topic_partition_list_new(n);
    for (part_state *ps = c->parts; ps; ps = ps->next) {
        if (ps->store_next < 0) continue;
        if (ps->assigned && !c->closed) /* else the new owner re-reads: duplicates, never gaps */
            rd_kafka_topic_partition_list_add(l, ps->topic, ps->partition)->offset = ps->store_next;
        ps->store_next = -1;
    }
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
        if (e && e != RD_KAFKA_RESP_ERR__STATE)
            ss_logf(SS_LOG_WARN, "kafka offset store: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_store_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_flush(arg);
}

static void store_offset(ss_consumer *c, part_state *ps, int64_t next)
{
    ps->store_next = next;
    if (!c->store_dirty) {
        c->store_dirty = 1;
        event_active(c->store_ev, EV_TIMEOUT, 0);
    }
}

static void apply_pause(ss_consumer *c)
{
    int64_t now = ss_mono_us();
    if (!c->paused)
        c->soft_since_us = 0;
    else if (!c->soft_since_us)
        c->soft_since_us = now;
    int want = (c->paused & SS_HARD_REASONS) ||
               (c->paused && now - c->soft_since_us > SS_SOFT_PAUSE_MAX_US);
    rd_kafka_topic_partition_list_t *a = NULL;
    ss_metric_set(c->m_paused, c->paused != 0);
    if (want == c->applied_pause || c->closed) return;
    if (rd_kafka_assignment(c->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
        if (want)
            rd_kafka_pause_partitions(c->rk, a);
        else
            rd_kafka_resume_partitions(c->rk, a);
        rd_kafka_topic_partition_list_destroy(a);
    }
    c->applied_pause = want;
}

void ss_consumer_pause(ss_consumer *c, int reason)
{
    c->paused |= reason;
    apply_pause(c);
}

void ss_consumer_resume(ss_consumer *c, int reason)
{
    c->paused &= ~reason;
    apply_pause(c);
    if (!c->paused && c->br.ev) event_active(c->br.ev, EV_READ, 0);
}

int ss_consumer_paused(const ss_consumer *c)
{
    return c->paused;
}

static void inflight_advance(ss_consumer *c, part_state *ps)
{
    int64_t next = -1;
    while (ps->head && ps->head->holds == 0) {
        ss_inflight *in = ps->head;
        next = in->offset + 1;
        ps->head = in->next;
        if (!ps->head) ps->tail = NULL;
        ps->nin--;
        c->inflight--;
        ss_free(in);
    }
    if (next < 0) return;
    store_offset(c, ps, next);
    ss_metric_set(c->m_inflight, (double)c->inflight);
    if ((c->paused & SS_PAUSE_INFLIGHT) && c->inflight <= c->max_inflight / 2)
        ss_consumer_resume(c, SS_PAUSE_INFLIGHT);
    part_maybe_free(c, ps);
}

void ss_inflight_hold(ss_inflight *in)
{
    ss_assert(in->holds > 0);
    in->holds++;
}

void ss_inflight_release(ss_inflight *in)
{
    ss_assert(in->holds > 0);
    if (--in->holds == 0) inflight_advance(in->c, in->ps);
}

void ss_inflight_done(ss_inflight *in)
{
    ss_assert(!in->done_called);
    in->done_called = 1;
    ss_inflight_release(in);
}

const char *ss_inflight_topic(const ss_inflight *in)
{
    return in->ps->topic;
}

int32_t ss_inflight_partition(const ss_inflight *in)
{
    return in->ps->partition;
}

int64_t ss_inflight_offset(const ss_inflight *in)
{
    return in->offset;
}

static ss_inflight *track(ss_consumer *c, const rd_kafka_message_t *m)
{
    part_state *ps = part_get(c, rd_kafka_topic_name(m->rkt), m->partition, 1);
    ss_inflight *in = ss_calloc(1, sizeof(*in));
    in->ps = ps;
    in->c = c;
    in->offset = m->offset;
    in->holds = 1;
    if (ps->tail)
        ps->tail->next = in;
    else
        ps->head = in;
    ps->tail = in;
    ps->nin++;
    c->inflight++;
    if (c->inflight >= c->max_inflight && !(c->paused & SS_PAUSE_INFLIGHT))
        ss_consumer_pause(c, SS_PAUSE_INFLIGHT);
    return in;
}

static void flush_producers(ss_consumer *c, int timeout_ms)
{
    for (int i = 0; i < c->nproducers; i++) ss_producer_flush(c->producers[i], timeout_ms);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    ss_consumer *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;

    ss_metric_inc(c->m_rebalances);
    c->joined = 1;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            part_state *ps = part_get(c, parts->elems[i].topic, parts->elems[i].partition, 1);
            ps->assigned = 1;
            ps->fetch_next = -1; /* learnt again from this assignment's messages */
        }
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        c->nassigned += parts->cnt;
        if (c->applied_pause) rd_kafka_pause_partitions(rk, parts);
        ss_logf(SS_LOG_INFO, "kafka assigned %d partition(s), %d held", parts->cnt, c->nassigned);
    } else {
        /* Finish what can finish: outputs acked now get their offsets stored
         * and committed before the partitions move; the rest is re-read by
         * the new owner (duplicates, harmless by event-id idempotence). */
        flush_producers(c, 5000);
        store_flush(c);
        rd_kafka_commit(rk, NULL, 0);
        for (int i = 0; i < parts->cnt; i++) {
            part_state *ps = part_get(c, parts->elems[i].topic, parts->elems[i].partition, 0);
            if (ps) {
                ps->assigned = 0;
                defer_drop(c, ps, 1);
                part_maybe_free(c, ps);
            }
        }
        if (coop)
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
        c->nassigned = coop ? c->nassigned - parts->cnt : 0;
        if (c->nassigned < 0) c->nassigned = 0;
        ss_logf(SS_LOG_INFO, "kafka revoked %d partition(s), %d held", parts->cnt, c->nassigned);
    }
    if (e) {
        ss_logf(SS_LOG_ERROR, "kafka rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void consumer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    ss_consumer *c = opaque;
    (void)rk;
    health_error(&c->health, "consumer", err, reason);
}

static int consumer_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    ss_consumer *c = opaque;
    (void)rk;
    (void)len;
    health_stats(&c->health, json, 1);
    return 0;
}

/* ------------------------------------------------------------ defer */

void ss_consumer_defer(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in,
                       const char *why)
{
    char where[32];
    (void)m;
    snprintf(where, sizeof where, "%d/%lld", (int)in->ps->partition, (long long)in->offset);
    ss_log(SS_LOG_WARN, "input deferred, offered again later", "reason", why, "topic",
           in->ps->topic, "partition_offset", where, NULL);
    c->defer_now = 1; /* consumer_serve / defer_retry keep the message */
    ss_metric_inc(c->m_deferred);
}

static void defer_push(ss_consumer *c, rd_kafka_message_t *m, ss_inflight *in)
{
    deferred *d = ss_calloc(1, sizeof *d);
    d->m = m;
    d->in = in;
    if (c->dtail)
        c->dtail->next = d;
    else
        c->dhead = d;
    c->dtail = d;
    if (d == c->dhead) { /* the first: stop input, try again after a pause */
        ss_consumer_pause(c, SS_PAUSE_RETRY);
        c->retry_ms = SS_RETRY_MIN_MS;
        struct timeval tv = {0, SS_RETRY_MIN_MS * 1000};
        evtimer_add(c->retry_ev, &tv);
    }
}

static deferred *defer_pop(ss_consumer *c)
{
    deferred *d = c->dhead;
    c->dhead = d->next;
    if (!c->dhead) c->dtail = NULL;
    return d;
}

static void defer_settled(ss_consumer *c)
{
    if (c->dhead) return;
    evtimer_del(c->retry_ev);
    ss_consumer_resume(c, SS_PAUSE_RETRY);
}

/* Hand the deferred messages over again, in order, until one is deferred
 * again (then wait twice as long, up to SS_RETRY_MAX_MS). */
static void defer_retry(evutil_socket_t fd, short what, void *arg)
{
    ss_consumer *c = arg;
    int n = 0;
    (void)fd;
    (void)what;
    while (c->dhead && !c->closed) {
        deferred *d = c->dhead;
        c->defer_now = 0;
        c->cb(c, d->m, d->in, c->arg);
        if (c->defer_now) {
            c->defer_now = 0;
            c->retry_ms = c->retry_ms * 2 < SS_RETRY_MAX_MS ? c->retry_ms * 2 : SS_RETRY_MAX_MS;
            struct timeval tv = {c->retry_ms / 1000, (c->retry_ms % 1000) * 1000};
            evtimer_add(c->retry_ev, &tv);
            break;
        }
        n++;
        defer_pop(c);
        rd_kafka_message_destroy(d->m);
        ss_free(d);
    }
    if (n && c->batch_end) c->batch_end(c, c->arg);
    defer_settled(c);
}

/* Forget the deferred messages of a partition this consumer no longer owns
 * (finish: their inputs are done; the partition is unassigned, so no offset
 * is stored for them and the next owner reads them again), or all of them at
 * shutdown (ps NULL, !finish: their inputs stay unfinished, so no offset is
 * stored past them). */
static void defer_drop(ss_consumer *c, part_state *ps, int finish)
{
    deferred **pp = &c->dhead;
    c->dtail = NULL;
    while (*pp) {
        deferred *d = *pp;
        if (ps && d->in->ps != ps) {
            c->dtail = d;
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        rd_kafka_message_destroy(d->m);
        if (finish) ss_inflight_done(d->in);
        ss_free(d);
    }
    defer_settled(c);
}

static void consumer_serve(ss_consumer *c)
{
    int n = 0;
    if (c->closed) return;
    if (c->paused) {
        apply_pause(c); /* escalates a long soft pause */
        if (!c->applied_pause) return; /* soft pause: leave messages in librdkafka's queue */
    }
    while (n < c->batch_max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m) break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                ss_log(SS_LOG_WARN, "kafka consumer error", "error", rd_kafka_err2name(m->err),
                       "reason", rd_kafka_message_errstr(m), NULL);
            rd_kafka_message_destroy(m);
            continue;
        }
        c->health.brokers_down = 0;
        n++;
        ss_inflight *in = track(c, m);
        in->ps->fetch_next = m->offset + 1;
        if (c->dhead) { /* behind a deferred message: keep the order */
            defer_push(c, m, in);
            continue;
        }
        c->defer_now = 0;
        c->cb(c, m, in, c->arg);
        if (c->defer_now) {
            c->defer_now = 0;
            defer_push(c, m, in);
        } else {
            rd_kafka_message_destroy(m);
        }
        if (c->closed) return;
        if (c->paused && !c->applied_pause) break;
    }
    ss_metric_add(c->m_consumed, n);
    if (n) c->kicked = 0;
    if (n && c->batch_end) c->batch_end(c, c->arg);
    if (n == c->batch_max && !c->paused) event_active(c->br.ev, EV_READ, 0); /* more may wait */
    else if (!c->paused && !c->kicked && !evtimer_pending(c->kick_ev, NULL)) {
        struct timeval tv = {0, SS_KICK_MS * 1000};
        evtimer_add(c->kick_ev, &tv);
    }
}

/* The prefetch queue is capped (queued.max.messages.kbytes) to bound memory.
 * librdkafka before 2.2 stops fetching when the queue is over the cap and only
 * looks again when its broker thread next wakes, up to 1 s later (2.2 added
 * fetch.queue.backoff.ms for this), so a consumer catching up on a backlog
 * would drain the queue and then sit idle. When the queue has stayed empty for
 * SS_KICK_MS while a partition's high watermark (cached from the last fetch)
 * says the broker holds more, seek each such partition to where we are: the
 * seek wakes its broker thread, which fetches at once. Nothing is skipped or
 * purged (the queue is empty and the position is the next unconsumed offset);
 * at worst an in-flight fetch is re-issued. One kick per dry spell, so a
 * partition whose watermark runs ahead of its last message (compaction,
 * transaction markers) costs one seek per message, not a loop. See ADR 0007. */
static void fetch_kick(evutil_socket_t fd, short what, void *arg)
{
    ss_consumer *c = arg;
    rd_kafka_topic_partition_list_t *l = NULL;
    (void)fd;
    (void)what;
    if (c->paused || c->closed || rd_kafka_queue_length(c->q) > 0) return;
    for (part_state *ps = c->parts; ps; ps = ps->next) {
        int64_t lo, hi;
        if (!ps->assigned || ps->fetch_next < 0) continue;
        if (rd_kafka_get_watermark_offsets(c->rk, ps->topic, ps->partition, &lo, &hi) ||
            hi <= ps->fetch_next)
            continue;
        if (!l) l = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_list_add(l, ps->topic, ps->partition)->offset = ps->fetch_next;
    }
    if (!l) return;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 0); /* 0: asynchronous */
    if (e) rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(l);
    c->kicked = 1;
    ss_metric_inc(c->m_kicks);
}

static void consumer_on_queue(evutil_socket_t fd, short what, void *arg)
{
    ss_consumer *c = arg;
    (void)fd;
    (void)what;
    bridge_clear(&c->br);
    consumer_serve(c);
}

static void consumer_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    consumer_serve(arg);
}

ss_consumer *ss_consumer_new(struct event_base *base, const ss_kafka_opts *o,
                             const char *const *topics, int ntopics, ss_message_cb cb,
                             ss_batch_end_cb batch_end, void *arg, char *err, size_t errlen)
{
    char e[256];
    ss_consumer *c = ss_calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *subs = NULL;
    struct timeval tv = {0, SS_TICK_MS * 1000};

    c->base = base;
    c->cb = cb;
    c->batch_end = batch_end;
    c->arg = arg;
    c->br.fds[0] = c->br.fds[1] = -1;
    c->batch_max = o->batch_max > 0 ? o->batch_max : 500;
    c->max_inflight = o->max_inflight > 0 ? (size_t)o->max_inflight : 10000;
    if (!o->group_id) {
        ss_err(err, errlen, "kafka consumer: group id required");
        goto err;
    }
    if (conf_common(conf, o, err, errlen) || conf_set(conf, "group.id", o->group_id, err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        conf_set(conf, "enable.auto.commit", "true", err, errlen) ||
        conf_set(conf, "auto.commit.interval.ms", "1000", err, errlen) ||
        conf_set(conf, "auto.offset.reset", o->offset_reset ? o->offset_reset : "earliest", err,
                 errlen) ||
        conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err, errlen) ||
        conf_set(conf, "session.timeout.ms", "10000", err, errlen) ||
        conf_set(conf, "heartbeat.interval.ms", "1000", err, errlen) ||
        /* a small prefetch bounds memory (librdkafka then caps fetch.max.bytes
         * to it, unless set); fetch_kick() keeps it fed (ADR 0007) */
        conf_set(conf, "queued.max.messages.kbytes", "2048", err, errlen) ||
        ss_kafka_conf_from_env(conf, err, errlen))
        goto err;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, consumer_error);
    rd_kafka_conf_set_stats_cb(conf, consumer_stats);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!c->rk) {
        ss_err(err, errlen, "kafka consumer: %s", e);
        goto err;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new(ntopics);
    for (int i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (se) {
        ss_err(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(se));
        goto err;
    }
    if (bridge_open(&c->br, base, c->q, consumer_on_queue, c, err, errlen)) goto err;
    c->tick = event_new(base, -1, EV_PERSIST, consumer_on_tick, c);
    event_add(c->tick, &tv);
    c->store_ev = event_new(base, -1, 0, on_store_event, c);
    c->kick_ev = evtimer_new(base, fetch_kick, c);
    c->retry_ev = evtimer_new(base, defer_retry, c);
    c->m_consumed = ss_counter("ss_kafka_consumed_total", "Messages consumed", NULL);
    c->m_inflight = ss_gauge("ss_kafka_inflight", "Consumed messages whose outputs are not yet acknowledged", NULL);
    c->m_paused = ss_gauge("ss_kafka_consumer_paused", "1 while input is paused", NULL);
    c->m_rebalances = ss_counter("ss_kafka_rebalances_total", "Rebalance events", NULL);
    c->m_kicks = ss_counter("ss_kafka_fetch_kicks_total",
                            "Fetcher wake-ups after the prefetch queue ran dry with more on the broker", NULL);
    c->m_deferred = ss_counter("ss_kafka_deferred_total",
                               "Times a message could not be handled yet (a transient failure) and was kept for another try",
                               NULL);
    return c;
err:
    if (conf) rd_kafka_conf_destroy(conf);
    ss_consumer_free(c);
    return NULL;
}

static void consumer_unlink_producer(ss_consumer *c, ss_producer *p)
{
    for (int i = 0; i < c->nproducers; i++)
        if (c->producers[i] == p) c->producers[i--] = c->producers[--c->nproducers];
}

void ss_consumer_link_producer(ss_consumer *c, ss_producer *p)
{
    c->producers = ss_realloc(c->producers, sizeof(*c->producers) * (size_t)(c->nproducers + 1));
    c->producers[c->nproducers++] = p;
    p->linked = ss_realloc(p->linked, sizeof(*p->linked) * (size_t)(p->nlinked + 1));
    p->linked[p->nlinked++] = c;
}

size_t ss_consumer_inflight(const ss_consumer *c)
{
    return c->inflight;
}

int ss_consumer_assigned(const ss_consumer *c)
{
    return c->nassigned;
}

int ss_consumer_ready(ss_consumer *c, char *why, size_t whylen)
{
    if (c->health.brokers_down) {
        if (why) ss_strlcpy(why, c->health.why, whylen);
        return 0;
    }
    if (!c->joined) {
        if (why) ss_strlcpy(why, "consumer group not joined yet", whylen);
        return 0;
    }
    return 1;
}

rd_kafka_t *ss_consumer_handle(ss_consumer *c)
{
    return c->rk;
}

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    ss_consumer *c = arg;
    (void)fd;
    (void)what;
    if (c->inflight && ss_mono_us() < c->drain_deadline_us) return;
    event_del(c->drain_ev);
    if (c->inflight)
        ss_logf(SS_LOG_WARN, "drain: %zu inputs unfinished at timeout; they will be re-read",
                c->inflight);
    if (c->dhead) {
        ss_logf(SS_LOG_WARN, "drain: deferred messages left at timeout; they will be re-read");
        defer_drop(c, NULL, 0);
    }
    flush_producers(c, 10000);
    store_flush(c);
    rd_kafka_commit(c->rk, NULL, 0);
    bridge_close(&c->br, c->q);
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    if (e) ss_logf(SS_LOG_WARN, "kafka consumer close: %s", rd_kafka_err2str(e));
    c->closed = 1;
    ss_logf(SS_LOG_INFO, "kafka consumer closed");
    if (c->drain_done) c->drain_done(c->drain_arg);
}

void ss_consumer_drain(ss_consumer *c, int timeout_ms, void (*done)(void *arg), void *arg)
{
    struct timeval tv = {0, 20000};
    ss_consumer_pause(c, SS_PAUSE_SHUTDOWN);
    c->drain_deadline_us = ss_mono_us() + (int64_t)timeout_ms * 1000;
    c->drain_done = done;
    c->drain_arg = arg;
    c->drain_ev = event_new(c->base, -1, EV_PERSIST, drain_check, c);
    event_add(c->drain_ev, &tv);
}

void ss_consumer_free(ss_consumer *c)
{
    if (!c) return;
    if (c->rk && !c->closed) {
        c->closed = 1;
        rd_kafka_consumer_close(c->rk);
    }
    bridge_close(&c->br, c->q);
    while (c->dhead) { /* inputs stay unfinished: freed with their partitions below */
        deferred *d = defer_pop(c);
        rd_kafka_message_destroy(d->m);
        ss_free(d);
    }
    if (c->retry_ev) event_free(c->retry_ev);
    if (c->tick) event_free(c->tick);
    if (c->store_ev) event_free(c->store_ev);
    if (c->kick_ev) event_free(c->kick_ev);
    if (c->drain_ev) event_free(c->drain_ev);
    if (c->q) rd_kafka_queue_destroy(c->q);
    if (c->rk) rd_kafka_destroy(c->rk);
    while (c->parts) {
        part_state *ps = c->parts;
        c->parts = ps->next;
        while (ps->head) {
            ss_inflight *in = ps->head;
            ps->head = in->next;
            ss_free(in);
        }
        ss_free(ps->topic);
        ss_free(ps);
    }
    for (int i = 0; i < c->nproducers; i++) { /* unlink */
        ss_producer *p = c->producers[i];
        for (int j = 0; j < p->nlinked; j++)
            if (p->linked[j] == c) p->linked[j] = p->linked[--p->nlinked];
    }
    ss_free(c->producers);
    ss_free(c);
}

rd_kafka_headers_t *ss_dlq_headers(const char *reason, const char *field, const char *topic,
                                   int32_t partition, int64_t offset, const char *service)
{
    char num[32];
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "__streamscore.errors.reason", -1, reason, -1);
    if (field) rd_kafka_header_add(h, "__streamscore.errors.field", -1, field, -1);
    if (topic) rd_kafka_header_add(h, "__streamscore.errors.topic", -1, topic, -1);
    snprintf(num, sizeof(num), "%d", (int)partition);
    rd_kafka_header_add(h, "__streamscore.errors.partition", -1, num, -1);
    snprintf(num, sizeof(num), "%lld", (long long)offset);
    rd_kafka_header_add(h, "__streamscore.errors.offset", -1, num, -1);
    rd_kafka_header_add(h, "__streamscore.errors.service", -1, service, -1);
    return h;
}
