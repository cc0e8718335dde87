/* settings.c - the ingest configuration table: parsing, --help and the docs
 * table (streamscore-ingest --config-markdown) come from here. */
#include <stddef.h>

#include "ingest.h"

/* B(lo, hi): inclusive bounds of a numeric entry; SS_UNBOUNDED otherwise */
#define B(lo, hi) lo, hi
// clang-format off
#define C(env, type, def, bounds, field, help) {env, type, def, bounds, offsetof(ingest_config, field), help}
// clang-format on

const ss_config_entry ingest_config_table[] = {
    SS_CFG_KAFKA_BROKERS(ingest_config, brokers),
    C("TOPIC_INGEST", SS_CFG_STRING, "events.ingest", SS_UNBOUNDED, topic_ingest,
      "Input topic: JSON or Confluent-framed Avro events."),
    C("TOPIC_RAW", SS_CFG_STRING, "events.raw", SS_UNBOUNDED, topic_raw,
      "Output topic: canonical Avro events keyed by EVENT_KEY_FIELD."),
    C("TOPIC_DLQ", SS_CFG_STRING, "events.dlq", SS_UNBOUNDED, topic_dlq,
      "Dead-letter topic: original key and bytes plus __streamscore.errors.* headers."),
    C("GROUP_ID", SS_CFG_STRING, "streamscore-ingest", SS_UNBOUNDED, group_id, "Consumer group."),
    SS_CFG_REDIS_URL(ingest_config, redis_url, "dedup by event id."),
    SS_CFG_SCHEMAS(ingest_config, schema_dir, registry_url),
    C("EVENT_SCHEMA", SS_CFG_STRING, "card_transaction", SS_UNBOUNDED, event_schema,
      "Canonical event schema (file stem or record name)."),
    SS_CFG_HTTP(ingest_config, http_bind, http_port, "8081", "/metrics, /healthz, /readyz"),
    C("DEDUP_HORIZON", SS_CFG_DURATION, "24h", B(0, 3.2e10), dedup_horizon_ms,
      "How long an event id is remembered for dedup; 0 turns dedup (and Redis) off."),
    C("INGEST_REQUIRE_KEY", SS_CFG_BOOL, "false", SS_UNBOUNDED, require_key,
      "Send messages without a Kafka key to the DLQ (null_key); by default they are "
      "accepted and keyed by EVENT_KEY_FIELD like every other event."),
    C("KAFKA_LINGER", SS_CFG_DURATION, "5ms", B(0, 10000), linger_ms,
      "Producer linger.ms: batching delay."),
    C("KAFKA_MAX_INFLIGHT", SS_CFG_INT, "10000", B(1, 1e7), max_inflight,
      "Unsettled inputs before the consumer pauses."),
    C("SHUTDOWN_TIMEOUT", SS_CFG_DURATION, "10s", B(0, 600000), shutdown_timeout_ms,
      "On SIGTERM: how long to wait for in-flight inputs before closing."),
    C("BACKFILL_WINDOW", SS_CFG_INT, "5000", B(1, 1e6), backfill_window,
      "Backfill: records in flight at once."),
    SS_EVENT_RULES_CONFIG(ingest_config, rules),
    SS_CFG_END,
};
