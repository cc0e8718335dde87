/* sink.h - where the load generator writes: JSON-lines files, Kafka
 * (events.ingest as JSON or Avro, labels as Avro) or the HTTP gateway.
 *
 * A sink accepts messages without blocking and reports, through its counters,
 * how many were acknowledged (written, acked by Kafka, 202 from the gateway)
 * or failed. backlog() is what is accepted but not yet acknowledged: the
 * generator stops producing while it is above its limit. */
#ifndef LOADGEN_SINK_H
#define LOADGEN_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "gen.h"
#include "invalid.h"

typedef struct lg_sink lg_sink;
struct lg_sink {
    const char *name;
    /** One event (valid JSON, or invalid bytes). bad: -1 for a valid event,
     * else the invalid kind (Avro kinds are corrupted after encoding). */
    int (*event)(lg_sink *s, const lg_event *ev, const char *json, size_t len, int bad);
    /** One label for an event. */
    int (*label)(lg_sink *s, const lg_event *ev, int64_t label_time);
    size_t (*backlog)(lg_sink *s);
    /** Block until everything is acknowledged or timeout_ms passes. */
    int (*flush)(lg_sink *s, int timeout_ms);
    void (*free)(lg_sink *s);
    uint64_t acked, failed;
    uint64_t rejected; /* refused as invalid by the receiver (gateway 4xx for an invalid event) */
    char err[256];
};

/** JSON lines: events to `events_path`, labels to `labels_path` (either may
 * be NULL to drop that stream; "-" = stdout). */
lg_sink *lg_sink_file_new(const char *events_path, const char *labels_path, char *err,
                          size_t errlen);

/** Labels (or events) to both sinks, e.g. Kafka plus a file kept for
 * training. Takes ownership of b, and of a when owns_a. Counters are a's
 * (refreshed by backlog()). */
lg_sink *lg_sink_tee_new(lg_sink *a, lg_sink *b, int owns_a);

typedef struct lg_kafka_opts {
    const char *brokers;
    const char *topic_events; /* events.ingest */
    const char *topic_labels; /* labels */
    int avro;                 /* events as Confluent-framed Avro instead of JSON */
    const char *schema_dir;
    const char *registry_url; /* "" = local registry */
} lg_kafka_opts;

lg_sink *lg_sink_kafka_new(struct event_base *base, const lg_kafka_opts *o, char *err,
                           size_t errlen);

/** POST /v1/events on the gateway in batches; labels are not accepted (pair
 * it with a Kafka or file sink for labels). */
lg_sink *lg_sink_http_new(struct event_base *base, const char *url, const char *api_key, char *err,
                          size_t errlen);

#endif
