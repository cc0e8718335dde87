#!/usr/bin/env bash
# ingest with a Schema Registry (a Confluent-compatible fake; the real one is
# not available here): the canonical schema is registered under
# events.raw-value and events.raw is framed with that id; producers' schemas
# (registered by another client) are fetched by id and resolved. When the
# registry is down on first sight of an id, the input waits (readyz false,
# nothing dead-lettered, later inputs keep their order) and goes through once
# the registry is back; when the registry hangs instead (accepts, never
# answers), the lookup runs off the loop and /healthz keeps answering.
# timeout: 120
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
. services/ingest/tests/ingest_lib.sh
PY=/usr/bin/python3
EV=services/ingest/tests/events_py.py
. libs/common/tests/registry_lib.sh

ss_start_redis && ss_start_kafka 2 && sr_start || { not_ok "redis, devkafka and the registry start"; ss_done; }
check "ingest starts with SCHEMA_REGISTRY_URL" start_ingest SCHEMA_REGISTRY_URL="$SR"
raw_id=$(curl -fsS "$SR/subjects/events.raw-value/versions/latest" | jq -r .id)
check "ingest registered the canonical schema under events.raw-value" test "$raw_id" = 1001

v0_id=$(sr_register events.ingest-value schemas/history/card_transaction.v0.avsc)
$PY $EV gen 20 1 sr --no-optional >"$SS_TMP/v0.jsonl"
$PY $EV avro schemas/history/card_transaction.v0.avsc "$v0_id" <"$SS_TMP/v0.jsonl" >"$SS_TMP/v0.hex"
to_files "$SS_TMP/v0.hex" v0
kcat -b "$KAFKA_BROKERS" -P -t events.ingest -k sr "$SS_TMP"/v0-*.bin
check "events written under the producer's registry id reach events.raw" ss_wait_for 30 metric_at_least ingest_messages_out_total 20
check "ingest fetched that id from the registry" grep -q "GET /schemas/ids/$v0_id" "$SS_TMP/sr.log"
consume events.raw >"$SS_TMP/raw.jsonl"
check "events.raw is framed with the registry id of events.raw-value" \
  test "$(jq -r '.value_hex[0:10]' "$SS_TMP/raw.jsonl" | sort -u)" = "$(printf '00%08x' "$raw_id")"
jq -r .value_hex "$SS_TMP/raw.jsonl" | "$SS_BIN/avrocat" --registry "$SR" decode card_transaction >"$SS_TMP/raw.events"
check "decoded through the registry, field-for-field equal (defaults filled)" $PY $EV same "$SS_TMP/v0.jsonl" "$SS_TMP/raw.events"

# a new writer schema appears while the registry is down
new_id=$(sr_register events.ingest-value schemas/card_transaction.avsc)
$PY $EV gen 1 2 late >"$SS_TMP/late.jsonl"
$PY $EV avro schemas/card_transaction.avsc "$new_id" <"$SS_TMP/late.jsonl" >"$SS_TMP/late.hex"
to_files "$SS_TMP/late.hex" late
$PY $EV gen 3 3 after >"$SS_TMP/after.jsonl"
sr_stop
kcat -b "$KAFKA_BROKERS" -P -t events.ingest -k card-late "$SS_TMP"/late-0001.bin
jq -r '[.card_id, (. | tojson)] | @tsv' "$SS_TMP/after.jsonl" | kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K $'\t' -p 0
check "/readyz turns false while the input waits for the registry" ss_wait_for 20 bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$INGEST_PORT/readyz)\" = 503 ]"
sleep 1
check "nothing dead-lettered for it" test "$(consume events.dlq 1000 | wc -l)" = 0
check "the waiting input is not lost or skipped: out is still 20" test "$(metric ingest_messages_out_total)" = 20
sr_start
check "when the registry returns, the parked input and the ones after it go through" \
  ss_wait_for 30 metric_at_least ingest_messages_out_total 24
check "/readyz is true again" ss_http_ok "http://127.0.0.1:$INGEST_PORT/readyz"
consume events.raw >"$SS_TMP/raw2.jsonl"
jq -r .value_hex "$SS_TMP/raw2.jsonl" | "$SS_BIN/avrocat" --registry "$SR" decode card_transaction >"$SS_TMP/raw2.events"
cat "$SS_TMP/v0.jsonl" "$SS_TMP/late.jsonl" "$SS_TMP/after.jsonl" >"$SS_TMP/all.jsonl"
check "all 24 events in events.raw, equal to what was sent" $PY $EV same "$SS_TMP/all.jsonl" "$SS_TMP/raw2.events"
# another writer schema appears while the registry hangs (accepts, never
# answers): the lookup runs off the loop, which keeps answering probes
sr_newer_schema schemas/card_transaction.avsc "$SS_TMP/ct_newer.avsc"
hang_id=$(sr_register events.ingest-value "$SS_TMP/ct_newer.avsc")
$PY $EV gen 1 4 hang >"$SS_TMP/hang.jsonl"
$PY $EV avro "$SS_TMP/ct_newer.avsc" "$hang_id" <"$SS_TMP/hang.jsonl" >"$SS_TMP/hang.hex"
to_files "$SS_TMP/hang.hex" hang
sr_hang || not_ok "black hole listens"
kcat -b "$KAFKA_BROKERS" -P -t events.ingest -k card-hang "$SS_TMP"/hang-0001.bin
check "the input waits while the registry hangs (readyz 503)" ss_wait_for 20 bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$INGEST_PORT/readyz)\" = 503 ]"
worst=$(ss_slowest "http://127.0.0.1:$INGEST_PORT/healthz")
check "the loop keeps answering while the registry hangs (slowest /healthz ${worst}s)" \
  awk -v w="$worst" 'BEGIN {exit !(w < 0.5)}'
sr_unhang
sr_start
check "once it answers again, the input goes through" ss_wait_for 30 metric_at_least ingest_messages_out_total 25
check "still nothing dead-lettered" test "$(consume events.dlq 1000 | wc -l)" = 0
check "ingest stops cleanly on SIGTERM" stop_ingest
ss_done
