/* kafka.h - librdkafka producer and consumer bridged into a libevent loop.
 *
 * The bridge: each rd_kafka_t's queue is hooked with
 * rd_kafka_queue_io_event_enable() to a non-blocking pipe watched by a
 * persistent read event; the callback drains the queue with timeout 0. The
 * loop thread never blocks in a poll.
 *
 * At-least-once: the consumer never auto-stores offsets. Every consumed message
 * gets an ss_inflight with one "processing" hold. Each ss_producer_send() tied
 * to it adds a hold that its delivery report releases; the service releases the
 * processing hold with ss_inflight_done() once it has issued every output. A
 * partition's offset is stored only up to the oldest message still holding, so
 * a crash re-delivers and never skips.
 */
#ifndef SS_COMMON_KAFKA_H
#define SS_COMMON_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>

typedef struct ss_producer ss_producer;
typedef struct ss_consumer ss_consumer;
typedef struct ss_inflight ss_inflight;

typedef struct ss_kafka_opts {
    const char *brokers;       /* bootstrap.servers */
    const char *client_id;     /* client.id */
    const char *group_id;      /* consumer group (consumer only) */
    int64_t delivery_timeout_ms; /* producer message.timeout.ms; 0 = retry forever */
    int64_t linger_ms;         /* producer linger.ms (default 5) */
    int stats_interval_ms;     /* statistics.interval.ms, 0 = off (default 5000) */
    int max_inflight;          /* consumer: pause above this many unfinished inputs (default 10000) */
    int batch_max;             /* consumer: messages handled per loop wake-up (default 500) */
    const char *offset_reset;  /* auto.offset.reset, default "earliest" */
} ss_kafka_opts;

/** Apply KAFKA_CONF_<NAME>=value environment variables as librdkafka
 * properties (NAME lowercased, '_' -> '.'), e.g. KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL,
 * KAFKA_CONF_SASL_MECHANISMS, KAFKA_CONF_SASL_USERNAME, KAFKA_CONF_SSL_CA_LOCATION. */
int ss_kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen);

/* ------------------------------------------------------------------ producer */

/** Outcome of one send. err is RD_KAFKA_RESP_ERR_NO_ERROR when Kafka acked.
 * Return 0 to accept the outcome, 1 to have the producer retry the message
 * (after a back-off). Called on the loop thread. */
typedef int (*ss_delivery_cb)(void *opaque, rd_kafka_resp_err_t err, int32_t partition,
                              int64_t offset);

/** Idempotent producer (enable.idempotence=true, acks=all) on `base`. */
ss_producer *ss_producer_new(struct event_base *base, const ss_kafka_opts *opts, char *err,
                             size_t errlen);

typedef struct ss_send {
    const char *topic;
    int32_t partition;          /* RD_KAFKA_PARTITION_UA = by key */
    const void *key;
    size_t keylen;
    const void *value;
    size_t valuelen;
    rd_kafka_headers_t *headers; /* ownership passes to the producer, also when the send
                                    fails (-1): never free them after the call; may be NULL */
    ss_inflight *input;          /* the consumed message this output belongs to, or NULL */
    ss_delivery_cb cb;           /* optional outcome callback */
    void *opaque;                /* for cb */
} ss_send;

/** Copy and enqueue one message. With no cb, a failed delivery is retried
 * after a back-off (with delivery_timeout_ms = 0 only permanent errors fail;
 * they are logged and counted and keep their input unreleased). On
 * __QUEUE_FULL the message waits in the producer's backlog and every linked
 * consumer pauses until the backlog drains. Returns 0, or -1 for a bad call. */
int ss_producer_send(ss_producer *p, const ss_send *s);

size_t ss_producer_outstanding(const ss_producer *p); /* queued + backlog, not yet reported */
/** Block up to timeout_ms for every outstanding message (shutdown only). */
int ss_producer_flush(ss_producer *p, int timeout_ms);
int ss_producer_ready(ss_producer *p, char *why, size_t whylen); /* brokers reachable */
rd_kafka_t *ss_producer_handle(ss_producer *p);
void ss_producer_free(ss_producer *p); /* flush (10 s) + destroy */

/* ------------------------------------------------------------------ consumer */

/** Called per message on the loop thread. `m` is valid only during the call;
 * `in` stays valid until its last hold is released. Error events (e.g.
 * partition EOF) are not delivered here. */
typedef void (*ss_message_cb)(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in,
                              void *arg);
/** Optional: called after each drained batch (e.g. to flush a pipeline). */
typedef void (*ss_batch_end_cb)(ss_consumer *c, void *arg);

ss_consumer *ss_consumer_new(struct event_base *base, const ss_kafka_opts *opts,
                             const char *const *topics, int ntopics, ss_message_cb cb,
                             ss_batch_end_cb batch_end, void *arg, char *err, size_t errlen);
/** Pause this consumer while p is congested (queue full backlog). */
void ss_consumer_link_producer(ss_consumer *c, ss_producer *p);

/** Reasons for pausing; input resumes when no reason remains. */
enum {
    SS_PAUSE_BACKPRESSURE = 1 << 0, /* producer backlog */
    SS_PAUSE_INFLIGHT = 1 << 1,     /* too many unfinished inputs */
    SS_PAUSE_DEPENDENCY = 1 << 2,   /* a dependency (e.g. Redis) is down */
    SS_PAUSE_SHUTDOWN = 1 << 3,     /* stopping */
    SS_PAUSE_RETRY = 1 << 4,        /* a deferred message waits for another try */
};
void ss_consumer_pause(ss_consumer *c, int reason);
void ss_consumer_resume(ss_consumer *c, int reason);
int ss_consumer_paused(const ss_consumer *c); /* current reason mask */

/** From inside the message callback, instead of handling `m`: it cannot be
 * handled now for a transient reason (e.g. the schema registry is
 * unreachable on first sight of a schema id). Do not call ss_inflight_done
 * for it. The consumer keeps the message and its input (no offset is stored
 * past it), pauses (SS_PAUSE_RETRY) and hands it to the callback again after
 * a back-off (250 ms doubling to 10 s), followed, in order, by the messages
 * consumed after it. On a revoke the partition's deferred messages are
 * dropped for the next owner to read; at a drain timeout they are re-read
 * after the restart. Each call is logged (warn, with `why` and the source
 * coordinates) and counted in ss_kafka_deferred_total. */
void ss_consumer_defer(ss_consumer *c, const rd_kafka_message_t *m, ss_inflight *in,
                       const char *why);

size_t ss_consumer_inflight(const ss_consumer *c); /* unfinished inputs */
int ss_consumer_assigned(const ss_consumer *c);    /* partitions currently assigned */
int ss_consumer_ready(ss_consumer *c, char *why, size_t whylen);
rd_kafka_t *ss_consumer_handle(ss_consumer *c);

/** Graceful stop: pause input, wait (running the loop) until every inflight is
 * done or timeout_ms passes, flush linked producers, store + commit offsets,
 * close the consumer; then call done(arg). The loop keeps running. */
void ss_consumer_drain(ss_consumer *c, int timeout_ms, void (*done)(void *arg), void *arg);
void ss_consumer_free(ss_consumer *c); /* after drain (or on abort) */

/* ------------------------------------------------------------------ inflight */

void ss_inflight_hold(ss_inflight *in);    /* one more output pending */
void ss_inflight_release(ss_inflight *in); /* one output acknowledged */
/** The service has issued every output for this input: releases the
 * processing hold. Exactly once per message. */
void ss_inflight_done(ss_inflight *in);
/** Source coordinates, for DLQ headers. */
const char *ss_inflight_topic(const ss_inflight *in);
int32_t ss_inflight_partition(const ss_inflight *in);
int64_t ss_inflight_offset(const ss_inflight *in);

/** DLQ headers in Kafka Connect style: __streamscore.errors.{reason,field,topic,
 * partition,offset,service}. `field` may be NULL. Caller owns the result. */
rd_kafka_headers_t *ss_dlq_headers(const char *reason, const char *field, const char *topic,
                                   int32_t partition, int64_t offset, const char *service);

#endif
