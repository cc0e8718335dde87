#!/usr/bin/env bash
# Events from an independent client (Debian's kcat) reach events.raw decoded
# field-for-field equal: JSON (some with RFC 3339 times and absent optional
# fields), Confluent-framed Avro encoded by python3-avro with the current
# schema, and with the older schemas/history v0 schema (resolved, defaults).
# timeout: 120
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
. services/ingest/tests/ingest_lib.sh
PY=/usr/bin/python3
EV=services/ingest/tests/events_py.py

ss_start_redis && ss_start_kafka 3 || { not_ok "redis and devkafka start"; ss_done; }
check "ingest starts" start_ingest

$PY $EV gen 100 1 json >"$SS_TMP/json.jsonl"
$PY $EV gen 60 2 avro >"$SS_TMP/avro.jsonl"
$PY $EV gen 40 3 v0 --no-optional >"$SS_TMP/v0.jsonl"
cat "$SS_TMP/json.jsonl" "$SS_TMP/avro.jsonl" "$SS_TMP/v0.jsonl" >"$SS_TMP/all.jsonl"

# JSON: "key<TAB>value" lines, keyed by card id
jq -r '[.card_id, (. | tojson)] | @tsv' "$SS_TMP/json.jsonl" |
  kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K $'\t'
check "kcat produced 100 JSON events" test $? = 0

$PY $EV avro schemas/card_transaction.avsc 1 <"$SS_TMP/avro.jsonl" >"$SS_TMP/avro.hex"
$PY $EV avro schemas/history/card_transaction.v0.avsc 6 <"$SS_TMP/v0.jsonl" >"$SS_TMP/v0.hex"
to_files "$SS_TMP/avro.hex" avro
to_files "$SS_TMP/v0.hex" v0
kcat -b "$KAFKA_BROKERS" -P -t events.ingest -k avro "$SS_TMP"/avro-*.bin
check "kcat produced 60 Avro events (python3-avro, schema id 1)" test $? = 0
kcat -b "$KAFKA_BROKERS" -P -t events.ingest "$SS_TMP"/v0-*.bin
check "kcat produced 40 Avro events (python3-avro, history schema id 6, no key)" test $? = 0

check "all 200 inputs settled" ss_wait_for 60 bash -c \
  "m=\$(curl -fsS http://127.0.0.1:$INGEST_PORT/metrics); echo \"\$m\" | grep -qx 'ingest_messages_out_total 200'"
check "nothing was dead-lettered" test "$(metric ingest_messages_in_total)" = 200 -a "$(consume events.dlq 1000 | wc -l)" = 0
consume events.raw >"$SS_TMP/raw.jsonl"
raw_events "$SS_TMP/raw.jsonl" >"$SS_TMP/raw.events"
check "events.raw holds all 200, decoded field-for-field equal to what was sent" \
  $PY $EV same "$SS_TMP/all.jsonl" "$SS_TMP/raw.events"
check "events.raw is keyed by card_id" \
  test "$(jq -r .key "$SS_TMP/raw.jsonl")" = "$(jq -r .card_id "$SS_TMP/raw.events")"
# the raw records are also readable by the independent implementation
jq -r .value_hex "$SS_TMP/raw.jsonl" | $PY libs/common/tests/avro_py.py decode schemas/card_transaction.avsc >"$SS_TMP/raw.py"
check "python3-avro decodes events.raw the same" $PY $EV same "$SS_TMP/all.jsonl" "$SS_TMP/raw.py"
check "ingest stops cleanly on SIGTERM" stop_ingest
ss_done
