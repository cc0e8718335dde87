/* dlq.c - input that cannot be processed (undecodable, no event id / time /
 * primary key) goes to the dead-letter topic with the reason headers. */
#include "common/log.h"
#include "features_svc.h"

void svc_dead_letter(svc *s, const rd_kafka_message_t *m, ss_inflight *in, const char *reason,
                     const char *field)
{
    ss_send send = {
        .topic = s->cfg.topic_dlq,
        .partition = RD_KAFKA_PARTITION_UA,
        .key = m->key,
        .keylen = m->key_len,
        .value = m->payload,
        .valuelen = m->len,
        .headers = ss_dlq_headers(reason, field, ss_inflight_topic(in), ss_inflight_partition(in),
                                  ss_inflight_offset(in), "features"),
        .input = in,
    };
    ss_log(SS_LOG_WARN, "dead-lettered input", "reason", reason, "topic", ss_inflight_topic(in),
           NULL);
    ss_metric_inc(s->m.events_dlq);
    ss_producer_send(s->producer, &send);
    ss_inflight_done(in);
}

