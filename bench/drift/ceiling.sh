# Sourced by bench/drift/run.sh: prints the Kafka pass-through ceiling in
# events/s for CEILING_EVENTS messages already in features.enriched.
# librdkafka consume -> produce of every message (idempotent producer, as the
# services use), timed from the first message consumed to the last delivery
# report: the same data, broker and partitions as the drift run.
"$TOOL" passthrough --brokers "$KAFKA_BROKERS" --topic features.enriched --to events.raw \
  --max "$CEILING_EVENTS" 2>>"$SS_TMP/ceiling.log" || { cat "$SS_TMP/ceiling.log" >&2; false; }
