/* labels.c - labels -> offline label files (by label time), so training can
 * join vectors and labels by event id. */
#include "common/log.h"
#include "features_svc.h"

void labels_message(svc *s, const rd_kafka_message_t *m, ss_inflight *in)
{
    avro_value_t *label = NULL, field;
    int64_t label_time = 0;
    char err[512];
    if (ss_avro_decode(s->label_codec, m->payload, m->len, &label, err, sizeof err) < 0) {
        if (ss_avro_codec_errcode(s->label_codec) == SS_AVRO_E_REGISTRY)
            ss_consumer_defer(s->consumer, m, in, err); /* offered again later */
        else
            svc_dead_letter(s, m, in, err, NULL);
        return;
    }
    if (avro_value_get_by_name(label, "label_time", &field, NULL) != 0 ||
        avro_value_get_long(&field, &label_time) != 0) {
        svc_dead_letter(s, m, in, "bad label: field \"label_time\": missing", "label_time");
        return;
    }
    ss_metric_inc(s->m.labels);
    if (s->offline_labels) sink_append(s, s->offline_labels, label_time, label, in);
    ss_inflight_done(in);
}
