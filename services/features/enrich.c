/* enrich.c - events.raw -> feature vector: decode, one feature-script call
 * per event (pipelined by ss_redis within a batch), then encode the vector,
 * produce it to features.enriched keyed by the primary entity and append it
 * to the offline store. A failed script call (Redis error reply) is retried
 * with back-off from a copy of the message, so nothing is dropped. */
#include <string.h>
#include "common/log.h"
#include "features_svc.h"

typedef struct event_job {
    svc *s;
    ss_inflight *in;
    void *payload; /* copy of the message: retries re-decode it */
    size_t len;
    int attempts;
    int64_t start_us;
    struct event *retry;
} event_job;

static void job_free(event_job *j)
{
    if (j->retry) event_free(j->retry);
    ss_free(j->payload);
    ss_free(j);
}

static void on_vector(const ss_feature_vector *v, const char *err, void *arg);

/** Decode and issue the script call; 0 = issued, -1 = not issued: a bad
 * event (DLQ'd) or one whose schema the registry could not yet tell us
 * (deferred: the consumer offers it again). */
static int job_issue(event_job *j, const rd_kafka_message_t *m)
{
    svc *s = j->s;
    avro_value_t *event = NULL;
    char err[512];
    if (ss_avro_decode(s->raw_codec, j->payload, j->len, &event, err, sizeof err) < 0) {
        if (!m) return -1;
        if (ss_avro_codec_errcode(s->raw_codec) == SS_AVRO_E_REGISTRY)
            ss_consumer_defer(s->consumer, m, j->in, err);
        else
            svc_dead_letter(s, m, j->in, err, NULL);
        return -1;
    }
    if (ss_features_update(s->features, event, on_vector, j, err, sizeof err) < 0) {
        if (m) svc_dead_letter(s, m, j->in, err, NULL);
        return -1;
    }
    return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    event_job *j = arg;
    (void)fd;
    (void)what;
    /* it decoded before, so it decodes again */
    if (job_issue(j, NULL) < 0) {
        ss_error("features: retry of a decoded event failed; input kept unreleased");
        job_free(j);
    }
}

static int produce_vector(svc *s, const ss_feature_vector *v, ss_inflight *in)
{
    avro_value_t *rec = ss_avro_codec_new_value(s->vector_codec);
    char err[512];
    if (ss_feature_vector_to_avro(v, rec, err, sizeof err) < 0 ||
        (ss_buf_reset(&s->enc), ss_avro_encode(s->vector_codec, rec, &s->enc, err, sizeof err)) <
            0) {
        /* a bug, not a data problem: keep the input so a fixed build re-does it */
        ss_log(SS_LOG_ERROR, "feature vector encoding failed", "error", err, "event_id",
               v->event_id, NULL);
        return -1;
    }
    ss_send send = {
        .topic = s->cfg.topic_features,
        .partition = RD_KAFKA_PARTITION_UA,
        .key = v->entity_id,
        .keylen = strlen(v->entity_id),
        .value = s->enc.data,
        .valuelen = s->enc.len,
        .input = in,
    };
    ss_producer_send(s->producer, &send);
    ss_metric_inc(s->m.vectors_produced);
    if (s->offline_features) sink_append(s, s->offline_features, v->event_time_ms, rec, in);
    return 0;
}

static void on_vector(const ss_feature_vector *v, const char *err, void *arg)
{
    event_job *j = arg;
    svc *s = j->s;
    if (!v) {
        int64_t backoff_ms = 100LL << (j->attempts < 6 ? j->attempts : 6);
        j->attempts++;
        ss_metric_inc(s->m.script_errors);
        ss_log(SS_LOG_WARN, "feature script failed, retrying", "error", err, NULL);
        if (!j->retry) j->retry = evtimer_new(s->base, on_retry, j);
        struct timeval tv = {backoff_ms / 1000, (backoff_ms % 1000) * 1000};
        evtimer_add(j->retry, &tv);
        return;
    }
    ss_metric_observe(s->m.update_seconds, (double)(ss_mono_us() - j->start_us) / 1e6);
    if (v->duplicate)
        ss_metric_inc(s->m.events_duplicate);
    else if (v->late) {
        ss_metric_inc(s->m.events_late);
        if (ss_log_enabled(SS_LOG_DEBUG))
            ss_log(SS_LOG_DEBUG, "late event scored with the state it found", "event_id",
                   v->event_id, "entity_id", v->entity_id, NULL);
    } else
        ss_metric_inc(s->m.events_ok);
    if (produce_vector(s, v, j->in) == 0) ss_inflight_done(j->in);
    job_free(j);
}

void enrich_message(svc *s, const rd_kafka_message_t *m, ss_inflight *in)
{
    event_job *j = ss_calloc(1, sizeof *j);
    j->s = s;
    j->in = in;
    j->len = m->len;
    j->payload = ss_malloc(m->len ? m->len : 1);
    if (m->len) memcpy(j->payload, m->payload, m->len);
    j->start_us = ss_mono_us();
    if (job_issue(j, m) < 0) job_free(j);
}
