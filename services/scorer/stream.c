/* stream.c - features.enriched -> scores.
 *
 * Per message: decode FeatureVector -> inputs in bundle order -> score with
 * the active bundle (PRIMARY) and the shadow bundle if any (SHADOW) -> encode
 * Score records -> produce, keyed by entity, tied to the input -> done. The
 * input offset is stored only once every record it caused is acknowledged.
 * A record that does not decode goes to the DLQ with its original bytes.
 */
#include <math.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "scorer.h"

struct scorer_stream {
    const scorer_config *cfg;
    scorer_models *models;
    struct event_base *base;
    ss_avro_codec *in_codec;
    ss_avro_codec *out_codec;
    ss_producer *producer;
    ss_consumer *consumer;
    ss_buf out;
    double *x;
    size_t xcap;
    ss_metric *latency;
    ss_metric *dlq;
    ss_metric *absent;
    ss_metric *shadow_agree[2]; /* [0] decisions differ, [1] agree */
    ss_metric *shadow_diff;
};

static double *inputs_buf(scorer_stream *s, size_t n)
{
    if (n > s->xcap) {
        s->xcap = n;
        s->x = ss_realloc(s->x, n * sizeof *s->x);
    }
    return s->x;
}

static int get_string(avro_value_t *rec, const char *field, const char **out)
{
    avro_value_t f;
    size_t len;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_get_string(&f, out, &len);
}

static int get_long(avro_value_t *rec, const char *field, int64_t *out)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_get_long(&f, out);
}

/* Score with one role's bundle and produce the record. */
static int score_role(scorer_stream *s, int role, const scorer_event *ev, avro_value_t *features,
                      ss_inflight *in, scorer_result *out, char *err, size_t errlen)
{
    scorer_slot *slot = &s->models->slot[role];
    const ss_model *model = slot->model;
    double *x = inputs_buf(s, ss_model_nfeatures(model));
    size_t absent = scorer_inputs_from_map(model, features, x);
    if (absent) ss_metric_add(s->absent, (double)absent);
    scorer_result r;
    int64_t t0 = ss_mono_us();
    scorer_score(model, x, &r);
    *out = r;
    if (role == SCORER_ACTIVE) ss_metric_observe(s->latency, (double)(ss_mono_us() - t0) / 1e6);

    avro_value_t *v = ss_avro_codec_new_value(s->out_codec);
    if (scorer_fill_score(v, model, role, ev, &r, x, ss_now_ms(), err, errlen) < 0) return -1;
    ss_buf_reset(&s->out);
    if (ss_avro_encode(s->out_codec, v, &s->out, err, errlen) < 0) return -1;
    ss_send send = {
        .topic = s->cfg->topic_scores,
        .partition = RD_KAFKA_PARTITION_UA,
        .key = ev->entity_id,
        .keylen = strlen(ev->entity_id),
        .value = s->out.data,
        .valuelen = s->out.len,
        .input = in,
    };
    if (ss_producer_send(s->producer, &send) < 0)
        return ss_err(err, errlen, "produce score for event %s failed", ev->event_id);
    ss_metric_inc(slot->scores[r.decision]);
    return 0;
}

int scorer_stream_handle(scorer_stream *s, avro_value_t *fv, ss_inflight *in, char *err,
                         size_t errlen)
{
    scorer_event ev = {0};
    avro_value_t features;
    if (get_string(fv, "event_id", &ev.event_id) || get_string(fv, "entity_id", &ev.entity_id) ||
        get_long(fv, "event_time", &ev.event_time_ms) ||
        avro_value_get_by_name(fv, "features", &features, NULL))
        return ss_err(err, errlen, "bad feature vector: %s", avro_strerror());
    ss_assert(s->models->slot[SCORER_ACTIVE].model); /* the consumer starts with a model */
    scorer_result primary, shadow;
    if (score_role(s, SCORER_ACTIVE, &ev, &features, in, &primary, err, errlen) < 0) return -1;
    if (s->models->slot[SCORER_SHADOW].model) {
        char serr[256];
        /* a shadow failure never touches the primary path */
        if (score_role(s, SCORER_SHADOW, &ev, &features, in, &shadow, serr, sizeof serr) < 0) {
            ss_log(SS_LOG_WARN, "shadow score failed", "event_id", ev.event_id, "error", serr,
                   NULL);
        } else {
            ss_metric_inc(s->shadow_agree[shadow.decision == primary.decision]);
            ss_metric_observe(s->shadow_diff, fabs(shadow.score - primary.score));
        }
    }
    return 0;
}

static void to_dlq(scorer_stream *s, const rd_kafka_message_t *m, ss_inflight *in,
                   const char *reason)
{
    ss_send send = {
        .topic = s->cfg->topic_dlq,
        .partition = RD_KAFKA_PARTITION_UA,
        .key = m->key,
        .keylen = m->key_len,
        .value = m->payload,
        .valuelen = m->len,
        .headers = ss_dlq_headers(reason, NULL, ss_inflight_topic(in), ss_inflight_partition(in),
                                  ss_inflight_offset(in), "scorer"),
        .input = in,
    };
    ss_metric_inc(s->dlq);
    ss_producer_send(s->producer, &send);
}

static void on_message(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in, void *arg)
{
    scorer_stream *s = arg;
    char err[512];
    avro_value_t *fv = NULL;
    int bad = ss_avro_decode(s->in_codec, m->payload, m->len, &fv, err, sizeof err) < 0;
    if (bad && ss_avro_codec_errcode(s->in_codec) == SS_AVRO_E_REGISTRY) {
        ss_consumer_defer(c, m, in, err); /* not the record's fault: offered again */
        return;
    }
    if (bad || scorer_stream_handle(s, fv, in, err, sizeof err) < 0) {
        ss_log(SS_LOG_WARN, "feature vector rejected, sent to the DLQ", "error", err, NULL);
        to_dlq(s, m, in, err);
    }
    ss_inflight_done(in);
}

scorer_stream *scorer_stream_new(struct event_base *base, const scorer_config *cfg,
                                 ss_avro_registry *reg, scorer_models *models, char *err,
                                 size_t errlen)
{
    scorer_stream *s = ss_calloc(1, sizeof *s);
    s->cfg = cfg;
    s->models = models;
    s->base = base;
    ss_buf_init(&s->out);
    char subject[256];
    snprintf(subject, sizeof subject, "%s-value", cfg->topic_features);
    s->in_codec = ss_avro_codec_new(reg, "FeatureVector", subject, err, errlen);
    snprintf(subject, sizeof subject, "%s-value", cfg->topic_scores);
    s->out_codec = s->in_codec ? ss_avro_codec_new(reg, "Score", subject, err, errlen) : NULL;
    ss_kafka_opts opts = {.brokers = cfg->kafka_brokers,
                          .client_id = "streamscore-scorer",
                          .group_id = cfg->group_id};
    s->producer = s->out_codec ? ss_producer_new(base, &opts, err, errlen) : NULL;
    if (!s->producer) {
        scorer_stream_free(s);
        return NULL;
    }
    s->latency = ss_histogram("ss_scorer_inference_seconds",
                              "Primary model inference time per event (prediction + reasons).",
                              NULL, NULL, 0);
    s->dlq = ss_counter("ss_scorer_dlq_total", "Feature vectors sent to the DLQ.", NULL);
    s->shadow_agree[0] =
        ss_counter("ss_scorer_shadow_decisions_total",
                   "Shadow vs primary decision on the same event.", "agree=\"false\"");
    s->shadow_agree[1] =
        ss_counter("ss_scorer_shadow_decisions_total",
                   "Shadow vs primary decision on the same event.", "agree=\"true\"");
    static const double diff_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1};
    s->shadow_diff = ss_histogram("ss_scorer_shadow_score_diff",
                                  "|shadow score - primary score| on the same event.", NULL,
                                  diff_bounds, sizeof diff_bounds / sizeof diff_bounds[0]);
    s->absent =
        ss_counter("ss_scorer_absent_features_total",
                   "Bundle features absent from incoming vectors (scored as missing).", NULL);
    return s;
}

int scorer_stream_start(scorer_stream *s, char *err, size_t errlen)
{
    if (s->consumer) return 0;
    ss_kafka_opts opts = {.brokers = s->cfg->kafka_brokers,
                          .client_id = "streamscore-scorer",
                          .group_id = s->cfg->group_id};
    const char *topics[] = {s->cfg->topic_features};
    s->consumer = ss_consumer_new(s->base, &opts, topics, 1, on_message, NULL, s, err, errlen);
    if (!s->consumer) return -1;
    ss_consumer_link_producer(s->consumer, s->producer);
    return 0;
}

ss_consumer *scorer_stream_consumer(scorer_stream *s)
{
    return s->consumer;
}
ss_producer *scorer_stream_producer(scorer_stream *s)
{
    return s->producer;
}

void scorer_stream_free(scorer_stream *s)
{
    if (!s) return;
    if (s->consumer) ss_consumer_free(s->consumer);
    if (s->producer) ss_producer_free(s->producer);
    if (s->out_codec) ss_avro_codec_free(s->out_codec);
    if (s->in_codec) ss_avro_codec_free(s->in_codec);
    ss_buf_free(&s->out);
    ss_free(s->x);
    ss_free(s);
}
