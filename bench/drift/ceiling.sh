# Sourced by bench/drift/run.sh: prints the pass-through ceiling in events/s
# for CEILING_EVENTS messages already in features.enriched: the foundation's
# reference pipeline (tools/passthrough, built from libs/common like the
# services: libevent bridge, in-flight tracking, store after ack; as in
# bench/kafka_passthrough) consuming the same data, same broker, same
# partitions, and producing every message on.
out=$(KAFKA_BROKERS=$KAFKA_BROKERS PT_IN=features.enriched PT_OUT=events.raw GROUP_ID=bench-ceiling \
  PT_EXIT_AFTER=$CEILING_EVENTS LOG_LEVEL=warn "$SS_BIN/passthrough" 2>>"$SS_TMP/ceiling.log") ||
  { cat "$SS_TMP/ceiling.log" >&2; false; }
echo "$out" | sed -n 's/.*= \([0-9.]*\) msgs\/s.*/\1/p'
