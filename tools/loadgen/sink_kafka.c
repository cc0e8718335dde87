/* sink_kafka.c - events to events.ingest (JSON bytes as-is, or
 * Confluent-framed Avro through the project's codec), labels to `labels` as
 * Avro Label records. Keys are the card id (the primary entity). */
#include "sink.h"

#include <string.h>
#include <jansson.h>

#include "common/avro.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/util.h"

typedef struct kafka_sink {
    lg_sink base;
    lg_kafka_opts o;
    ss_producer *producer;
    ss_avro_registry *registry;
    ss_avro_codec *event_codec, *label_codec;
    ss_buf buf, json;
    uint64_t retries;
} kafka_sink;

static int on_delivery(void *opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset)
{
    kafka_sink *s = opaque;
    (void)partition;
    (void)offset;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->base.acked++;
        return 0;
    }
    if (s->retries++ % 1000 == 0)
        ss_log(SS_LOG_WARN, "loadgen: delivery failed, retrying", "error", rd_kafka_err2str(err),
               NULL);
    return 1; /* nothing the generator sent may go missing: retry */
}

/* JSON text -> framed Avro in s->buf. */
static int to_avro(kafka_sink *s, ss_avro_codec *codec, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *obj = json_loadb(json, len, 0, &jerr);
    if (!obj) return ss_err(s->base.err, sizeof s->base.err, "bad json: %s", jerr.text);
    avro_value_t *v = ss_avro_codec_new_value(codec);
    ss_buf_reset(&s->buf);
    int rc = ss_avro_from_json(v, obj, s->base.err, sizeof s->base.err, NULL);
    if (rc == 0) rc = ss_avro_encode(codec, v, &s->buf, s->base.err, sizeof s->base.err);
    json_decref(obj);
    return rc;
}

static int kafka_send(kafka_sink *s, const char *topic, const char *key, const void *val,
                      size_t len)
{
    ss_send m = {.topic = topic,
                 .partition = RD_KAFKA_PARTITION_UA,
                 .key = key,
                 .keylen = strlen(key),
                 .value = val,
                 .valuelen = len,
                 .cb = on_delivery,
                 .opaque = s};
    if (ss_producer_send(s->producer, &m) != 0) {
        s->base.failed++;
        return ss_err(s->base.err, sizeof s->base.err, "cannot produce to %s", topic);
    }
    return 0;
}

static int kafka_event(lg_sink *sk, const lg_event *ev, const char *json, size_t len, int bad)
{
    kafka_sink *s = (kafka_sink *)sk;
    int avro = (s->o.avro && bad < 0) || (bad >= 0 && lg_bad_is_avro(bad));
    if (!avro) return kafka_send(s, s->o.topic_events, ev->card_id, json, len);
    if (to_avro(s, s->event_codec, json, len) != 0) {
        s->base.failed++;
        return -1;
    }
    if (bad >= 0) lg_bad_avro(bad, &s->buf);
    return kafka_send(s, s->o.topic_events, ev->card_id, s->buf.data, s->buf.len);
}

static int kafka_label(lg_sink *sk, const lg_event *ev, int64_t label_time)
{
    kafka_sink *s = (kafka_sink *)sk;
    ss_buf_reset(&s->json);
    lg_label_json(ev, label_time, &s->json);
    if (to_avro(s, s->label_codec, s->json.data, s->json.len) != 0) {
        s->base.failed++;
        return -1;
    }
    return kafka_send(s, s->o.topic_labels, ev->card_id, s->buf.data, s->buf.len);
}

static size_t kafka_backlog(lg_sink *sk)
{
    return ss_producer_outstanding(((kafka_sink *)sk)->producer);
}

static int kafka_flush(lg_sink *sk, int timeout_ms)
{
    return ss_producer_flush(((kafka_sink *)sk)->producer, timeout_ms);
}

static void kafka_free(lg_sink *sk)
{
    kafka_sink *s = (kafka_sink *)sk;
    if (s->producer) ss_producer_free(s->producer);
    if (s->event_codec) ss_avro_codec_free(s->event_codec);
    if (s->label_codec) ss_avro_codec_free(s->label_codec);
    if (s->registry) ss_avro_registry_free(s->registry);
    ss_buf_free(&s->buf);
    ss_buf_free(&s->json);
    ss_free(s);
}

lg_sink *lg_sink_kafka_new(struct event_base *base, const lg_kafka_opts *o, char *err,
                           size_t errlen)
{
    kafka_sink *s = ss_calloc(1, sizeof *s);
    s->base = (lg_sink){.name = "kafka",
                        .event = kafka_event,
                        .label = kafka_label,
                        .backlog = kafka_backlog,
                        .flush = kafka_flush,
                        .free = kafka_free};
    s->o = *o;
    ss_buf_init(&s->buf);
    ss_buf_init(&s->json);
    char subject[256];
    s->registry = ss_avro_registry_new(o->schema_dir, o->registry_url, err, errlen);
    if (!s->registry) goto err;
    snprintf(subject, sizeof subject, "%s-value", o->topic_events);
    s->event_codec = ss_avro_codec_new(s->registry, "CardTransaction", subject, err, errlen);
    if (!s->event_codec) goto err;
    snprintf(subject, sizeof subject, "%s-value", o->topic_labels);
    s->label_codec = ss_avro_codec_new(s->registry, "Label", subject, err, errlen);
    if (!s->label_codec) goto err;
    ss_kafka_opts ko = {.brokers = o->brokers, .client_id = "streamscore-loadgen", .linger_ms = 5};
    s->producer = ss_producer_new(base, &ko, err, errlen);
    if (!s->producer) goto err;
    return &s->base;
err:
    kafka_free(&s->base);
    return NULL;
}
