/* pipeline.c - one input: validate -> dedup -> produce raw | DLQ | drop.
 *
 * Every input becomes one job; the job ends when its single outcome is
 * settled: the raw or DLQ record acknowledged by Kafka, or the duplicate
 * dropped. The consumed message's processing hold is released as soon as
 * the output is issued; the producer's hold (released by the delivery
 * report) keeps the offset from being stored before the ack.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"
#include "ingest.h"

#define RETRY_PARKED_MS 500      /* registry unreachable: first retry of parked inputs */
#define RETRY_PARKED_MAX_MS 5000 /* back-off cap (each retry may block up to 5 s) */
#define MAX_REASONS 48           /* distinct DLQ reasons with a cached metric */

typedef struct job {
    ingest *ig;
    ss_inflight *inflight;
    int64_t t0_us;
    const char *reason; /* DLQ reason, NULL for raw */
    char *key;          /* raw: canonical key and value, kept across the Redis round trip */
    size_t keylen;
    char *value;
    size_t len;
} job;

typedef struct parked {
    ingest_input in;
    rd_kafka_headers_t *headers;
    struct parked *next;
} parked;

typedef struct reason_metric {
    const char *reason;
    ss_metric *m;
} reason_metric;

struct ingest {
    const ingest_config *cfg;
    struct event_base *base;
    ss_producer *producer;
    ss_redis *redis;
    ss_avro_registry *reg;
    ss_avro_codec *codec;
    ss_event_rules *rules;
    ss_buf enc;
    size_t pending;
    ingest_stats stats;
    ingest_done_cb done_cb;
    void *done_arg;
    parked *park_head, *park_tail;
    struct event *retry_timer;
    int64_t retry_ms; /* current back-off */
    void (*blocked_cb)(ingest *, int, void *);
    void *blocked_arg;
    ss_metric *m_in, *m_out, *m_dup, *m_dedup_err, *m_latency, *m_pending, *m_delivery_err,
        *m_failed;
    reason_metric reasons[MAX_REASONS];
    size_t nreasons;
};

static ss_metric *dlq_metric(ingest *ig, const char *reason)
{
    for (size_t i = 0; i < ig->nreasons; i++)
        if (ig->reasons[i].reason == reason || strcmp(ig->reasons[i].reason, reason) == 0)
            return ig->reasons[i].m;
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    ss_metric *m = ss_counter("ingest_dlq_total", "Inputs sent to the DLQ, by reason.", labels);
    if (ig->nreasons < MAX_REASONS) ig->reasons[ig->nreasons++] = (reason_metric){reason, m};
    return m;
}

/* ------------------------------------------------------------ outcomes */

static void job_free(job *j)
{
    ss_free(j->key);
    ss_free(j->value);
    ss_free(j);
}

static void settle(job *j, ingest_outcome outcome)
{
    ingest *ig = j->ig;
    ss_metric_observe(ig->m_latency, (double)(ss_mono_us() - j->t0_us) / 1e6);
    switch (outcome) {
    case INGEST_ACCEPTED:
        ig->stats.accepted++;
        ss_metric_inc(ig->m_out);
        break;
    case INGEST_REJECTED:
        ig->stats.rejected++;
        ss_metric_inc(dlq_metric(ig, j->reason));
        break;
    case INGEST_DUPLICATE:
        ig->stats.duplicates++;
        ss_metric_inc(ig->m_dup);
        break;
    case INGEST_FAILED:
        ig->stats.failed++;
        ss_metric_inc(ig->m_failed);
        break;
    }
    ig->pending--;
    ss_metric_set(ig->m_pending, (double)ig->pending);
    if (ig->done_cb) ig->done_cb(ig, outcome, ig->done_arg);
    job_free(j);
}

/* Permanent produce errors would otherwise hold the partition forever. */
static int permanent_error(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG ||
           err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT;
}

static int on_delivery(void *opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset)
{
    job *j = opaque;
    (void)partition;
    (void)offset;
    if (err) {
        ss_metric_inc(j->ig->m_delivery_err);
        ss_log(SS_LOG_WARN,
               permanent_error(err) ? "output dropped: permanent produce error"
                                    : "output delivery failed, retrying",
               "topic", j->reason ? j->ig->cfg->topic_dlq : j->ig->cfg->topic_raw, "error",
               rd_kafka_err2str(err), NULL);
        if (!permanent_error(err)) return 1;
        settle(j, INGEST_FAILED);
        return 0;
    }
    settle(j, j->reason ? INGEST_REJECTED : INGEST_ACCEPTED);
    return 0;
}

static void issue(job *j, const ss_send *s)
{
    ss_inflight *in = j->inflight;
    j->inflight = NULL;
    /* refused outright (e.g. over message.max.bytes): no report will come, and
     * the producer has already released the headers and its hold */
    if (ss_producer_send(j->ig->producer, s)) {
        ss_log(SS_LOG_ERROR, "output refused by the producer", "topic", s->topic, NULL);
        settle(j, INGEST_FAILED);
    }
    if (in) ss_inflight_done(in); /* outputs issued */
}

static void produce_raw(job *j, const char *key, size_t keylen, const char *value, size_t len)
{
    ss_send s = {.topic = j->ig->cfg->topic_raw,
                 .partition = RD_KAFKA_PARTITION_UA,
                 .key = key,
                 .keylen = keylen,
                 .value = value,
                 .valuelen = len,
                 .input = j->inflight,
                 .cb = on_delivery,
                 .opaque = j};
    issue(j, &s);
}

static rd_kafka_headers_t *dlq_headers(const ingest_input *in, const ss_event_error *e)
{
    rd_kafka_headers_t *h = ss_dlq_headers(e->reason, e->field[0] ? e->field : NULL, in->topic,
                                           in->partition, in->offset, "ingest");
    rd_kafka_header_add(h, "__streamscore.errors.detail", -1, e->detail, -1);
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; in->headers && !rd_kafka_header_get_all(in->headers, i, &name, &val, &size);
         i++)
        rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
    return h;
}

static void produce_dlq(job *j, const ingest_input *in, const ss_event_error *e)
{
    j->reason = e->reason;
    ss_log(SS_LOG_DEBUG, "input rejected", "reason", e->reason, "field", e->field, "detail",
           e->detail, NULL);
    ss_send s = {.topic = j->ig->cfg->topic_dlq,
                 .partition = RD_KAFKA_PARTITION_UA,
                 .key = in->key,
                 .keylen = in->key ? in->keylen : 0,
                 .value = in->value,
                 .valuelen = in->len,
                 .headers = dlq_headers(in, e),
                 .input = j->inflight,
                 .cb = on_delivery,
                 .opaque = j};
    issue(j, &s);
}

static void on_dedup(dedup_answer answer, void *arg)
{
    job *j = arg;
    if (answer == DEDUP_DUPLICATE) {
        if (j->inflight) ss_inflight_done(j->inflight);
        j->inflight = NULL;
        settle(j, INGEST_DUPLICATE);
        return;
    }
    if (answer == DEDUP_ERROR) { /* fail open: at-least-once beats dropping */
        j->ig->stats.dedup_errors++;
        ss_metric_inc(j->ig->m_dedup_err);
    }
    produce_raw(j, j->key, j->keylen, j->value, j->len);
}

/* ------------------------------------------------------------ processing */

static void accept_event(ingest *ig, job *j, const ingest_input *in, avro_value_t *v)
{
    char err[256];
    ss_event_info info;
    ss_event_error e = {.reason = "internal", .field = "", .detail = ""};
    if (ss_event_info_get(ig->rules, v, &info) ||
        (ss_buf_reset(&ig->enc), ss_avro_encode(ig->codec, v, &ig->enc, err, sizeof err))) {
        snprintf(e.detail, sizeof e.detail, "cannot encode the canonical event");
        produce_dlq(j, in, &e);
        return;
    }
    if (!ig->redis || ig->cfg->dedup_horizon_ms <= 0) {
        produce_raw(j, info.key, info.key_len, ig->enc.data, ig->enc.len);
        return;
    }
    j->key = ss_strndup(info.key, info.key_len);
    j->keylen = info.key_len;
    j->value = ss_malloc(ig->enc.len);
    memcpy(j->value, ig->enc.data, ig->enc.len);
    j->len = ig->enc.len;
    char token[300];
    snprintf(token, sizeof token, "%s/%d/%lld", in->topic, (int)in->partition,
             (long long)in->offset);
    dedup_check(ig->redis, info.event_id, info.event_id_len, token, ig->cfg->dedup_horizon_ms,
                on_dedup, j);
}

/* 0 = taken; 1 = transient failure, the caller parks the input */
static int try_process(ingest *ig, const ingest_input *in)
{
    ss_event_error e = {0};
    avro_value_t *v = NULL;
    int64_t t0 = ss_mono_us();
    int rc;
    if (ig->cfg->require_key && !in->key && in->inflight) {
        e.reason = SS_EV_NULL_KEY;
        snprintf(e.detail, sizeof e.detail, "message has no key (INGEST_REQUIRE_KEY is set)");
        rc = -1;
    } else {
        rc = ss_event_validate_any(ig->rules, ig->codec, in->value, in->len, &v, &e);
        if (rc && strcmp(e.reason, SS_EV_REGISTRY_UNAVAILABLE) == 0) {
            ss_log(SS_LOG_WARN, "schema registry unavailable, input parked", "detail", e.detail,
                   NULL);
            return 1;
        }
    }
    job *j = ss_calloc(1, sizeof *j);
    j->ig = ig;
    j->inflight = in->inflight;
    j->t0_us = t0;
    ig->pending++;
    ig->stats.in++;
    ss_metric_inc(ig->m_in);
    ss_metric_set(ig->m_pending, (double)ig->pending);
    if (rc)
        produce_dlq(j, in, &e);
    else
        accept_event(ig, j, in, v);
    return 0;
}

static void schedule_retry(ingest *ig)
{
    struct timeval tv = {ig->retry_ms / 1000, (ig->retry_ms % 1000) * 1000};
    evtimer_add(ig->retry_timer, &tv);
}

static void set_blocked(ingest *ig, int blocked)
{
    ig->retry_ms = RETRY_PARKED_MS;
    if (blocked) schedule_retry(ig);
    if (ig->blocked_cb) ig->blocked_cb(ig, blocked, ig->blocked_arg);
}

static void park(ingest *ig, const ingest_input *in)
{
    parked *p = ss_calloc(1, sizeof *p);
    p->in = *in;
    p->in.value = memcpy(ss_malloc(in->len + 1), in->value, in->len);
    p->in.key = in->key ? memcpy(ss_malloc(in->keylen + 1), in->key, in->keylen) : NULL;
    p->in.topic = ss_strdup(in->topic);
    p->headers = in->headers ? rd_kafka_headers_copy(in->headers) : NULL;
    p->in.headers = p->headers;
    int was_empty = ig->park_head == NULL;
    if (ig->park_tail)
        ig->park_tail->next = p;
    else
        ig->park_head = p;
    ig->park_tail = p;
    if (was_empty) set_blocked(ig, 1);
}

static void parked_free(parked *p)
{
    ss_free((void *)p->in.value);
    ss_free((void *)p->in.key);
    ss_free((void *)p->in.topic);
    if (p->headers) rd_kafka_headers_destroy(p->headers);
    ss_free(p);
}

static void retry_parked(evutil_socket_t fd, short what, void *arg)
{
    ingest *ig = arg;
    (void)fd;
    (void)what;
    while (ig->park_head) {
        parked *p = ig->park_head;
        if (try_process(ig, &p->in)) {
            ig->retry_ms =
                ig->retry_ms * 2 < RETRY_PARKED_MAX_MS ? ig->retry_ms * 2 : RETRY_PARKED_MAX_MS;
            schedule_retry(ig);
            return;
        }
        ig->park_head = p->next;
        if (!ig->park_head) ig->park_tail = NULL;
        parked_free(p);
    }
    set_blocked(ig, 0);
}

int ingest_process(ingest *ig, const ingest_input *in)
{
    if (ig->park_head || try_process(ig, in)) park(ig, in); /* keep input order */
    return 0;
}

/* ------------------------------------------------------------ life cycle */

ingest *ingest_new(const ingest_config *cfg, struct event_base *base, ss_producer *producer,
                   ss_redis *redis, char *err, size_t errlen)
{
    ingest *ig = ss_calloc(1, sizeof *ig);
    char subject[300];
    ig->cfg = cfg;
    ig->base = base;
    ig->producer = producer;
    ig->redis = redis;
    ss_buf_init(&ig->enc);
    snprintf(subject, sizeof subject, "%s-value", cfg->topic_raw);
    ig->reg = ss_avro_registry_new(cfg->schema_dir, cfg->registry_url, err, errlen);
    if (!ig->reg) goto bad;
    ss_avro_registry_set_wait(ig->reg, SS_AVRO_LOOP_WAIT_MS);
    ig->codec = ss_avro_codec_new(ig->reg, cfg->event_schema, subject, err, errlen);
    if (!ig->codec) goto bad;
    ig->rules = ss_event_rules_new(&cfg->rules, ss_avro_codec_schema(ig->codec), err, errlen);
    if (!ig->rules) goto bad;
    ig->retry_timer = evtimer_new(base, retry_parked, ig);
    ig->m_in = ss_counter("ingest_messages_in_total", "Inputs taken (stream and backfill).", NULL);
    ig->m_out = ss_counter("ingest_messages_out_total",
                           "Canonical events acknowledged on the raw topic.", NULL);
    ig->m_dup =
        ss_counter("ingest_duplicates_total", "Inputs dropped as duplicates by event id.", NULL);
    ig->m_dedup_err =
        ss_counter("ingest_dedup_errors_total",
                   "Dedup commands Redis answered with an error (event passed on).", NULL);
    ig->m_delivery_err = ss_counter("ingest_delivery_errors_total",
                                    "Failed output deliveries (retried unless permanent).", NULL);
    ig->m_failed =
        ss_counter("ingest_failed_total",
                   "Inputs whose output failed permanently (e.g. over message.max.bytes).", NULL);
    ig->m_latency =
        ss_histogram("ingest_processing_seconds",
                     "From consuming an input to its output being acknowledged.", NULL, NULL, 0);
    ig->m_pending = ss_gauge("ingest_pending", "Inputs taken but not yet settled.", NULL);
    dlq_metric(ig, SS_EV_INVALID_JSON); /* so the series exists from the start */
    return ig;
bad:
    ingest_free(ig);
    return NULL;
}

void ingest_free(ingest *ig)
{
    if (!ig) return;
    while (ig->park_head) {
        parked *p = ig->park_head;
        ig->park_head = p->next;
        parked_free(p);
    }
    if (ig->retry_timer) event_free(ig->retry_timer);
    ss_event_rules_free(ig->rules);
    ss_avro_codec_free(ig->codec);
    ss_avro_registry_free(ig->reg);
    ss_buf_free(&ig->enc);
    ss_free(ig);
}

void ingest_on_done(ingest *ig, ingest_done_cb cb, void *arg)
{
    ig->done_cb = cb;
    ig->done_arg = arg;
}

void ingest_on_blocked(ingest *ig, void (*cb)(ingest *, int, void *), void *arg)
{
    ig->blocked_cb = cb;
    ig->blocked_arg = arg;
}

size_t ingest_pending(const ingest *ig)
{
    return ig->pending;
}

int ingest_blocked(const ingest *ig)
{
    return ig->park_head != NULL;
}

const ingest_stats *ingest_get_stats(const ingest *ig)
{
    return &ig->stats;
}

ss_avro_codec *ingest_codec(ingest *ig)
{
    return ig->codec;
}
