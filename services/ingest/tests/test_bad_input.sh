#!/usr/bin/env bash
# Table-driven bad input through the running service (libs/events/tests/cases.tsv,
# 55 cases): each bad message reaches events.dlq with its specific reason and
# field, original key and bytes and source headers; each good one reaches
# events.raw once, keyed by card_id; the service keeps running throughout.
# Also: a duplicate event id is dropped and counted, a null key is accepted by
# default and dead-lettered (null_key) with INGEST_REQUIRE_KEY=true.
# timeout: 180
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
. services/ingest/tests/ingest_lib.sh
PY=/usr/bin/python3
BIG=4000000 # the 1 MiB case: producer and broker limits above it

ss_start_redis && ss_start_kafka 2 || { not_ok "redis and devkafka start"; ss_done; }
check "ingest starts and is ready" start_ingest KAFKA_CONF_MESSAGE_MAX_BYTES=$BIG
$PY services/ingest/tests/bad_input.py prepare "$SS_TMP" >"$SS_TMP/list"

produce() { # KEY FILE
  local key=$1 file=$2
  if [ ! -s "$file" ]; then # kcat skips empty files: send key|<empty>
    printf '%s|\n' "$key" | kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K '|'
  elif [ "$key" = - ]; then
    kcat -b "$KAFKA_BROKERS" -P -t events.ingest -X message.max.bytes=$BIG "$file"
  else
    kcat -b "$KAFKA_BROKERS" -P -t events.ingest -X message.max.bytes=$BIG -k "$key" "$file"
  fi
}

sent=0 alive=1
while read -r key file; do
  produce "$key" "$file" && sent=$((sent + 1))
  kill -0 "$SS_PID_ingest" 2>/dev/null || { alive=0; break; }
done <"$SS_TMP/list"
check "the service survived every bad input" test $alive = 1

# the first case (a valid event) again, under another key: a duplicate event id
produce dup "$SS_TMP/case-01.bin" && sent=$((sent + 1))
now=$(($(date +%s) * 1000))
printf '{"event_id":"final-1","event_time":%s,"card_id":"card-final","merchant_id":"m","amount":2,"currency":"EUR","merchant_category":"5411","merchant_country":"DE","channel":"POS"}' \
  "$now" >"$SS_TMP/final.json"
produce final "$SS_TMP/final.json" && sent=$((sent + 1))

check "all $sent inputs were taken and settled" ss_wait_for 60 bash -c \
  "[ \"\$(curl -fsS http://127.0.0.1:$INGEST_PORT/metrics | awk '\$1==\"ingest_messages_in_total\"{print \$2}')\" = $sent ] &&
   [ \"\$(curl -fsS http://127.0.0.1:$INGEST_PORT/metrics | awk '\$1==\"ingest_pending\"{print \$2}')\" = 0 ]"
check "the service is still alive and healthy" ss_http_ok "http://127.0.0.1:$INGEST_PORT/healthz"
check "the duplicate event id was dropped and counted" test "$(metric ingest_duplicates_total)" = 1
check "dlq counter by reason (bad_enum)" test "$(metric 'ingest_dlq_total{reason="bad_enum"}')" = 2

consume events.dlq >"$SS_TMP/dlq.jsonl"
consume events.raw >"$SS_TMP/raw.jsonl"
jq -r .key "$SS_TMP/raw.jsonl" >"$SS_TMP/raw.keys"
raw_events "$SS_TMP/raw.jsonl" >"$SS_TMP/raw.events"
check "the last valid event came through after all the bad ones" grep -q '"event_id":"final-1"' "$SS_TMP/raw.events"
$PY services/ingest/tests/bad_input.py verify "$SS_TMP" "$SS_TMP/dlq.jsonl" "$SS_TMP/raw.keys" \
  "$SS_TMP/raw.events" "$SS_BIN/avrocat" || SS_FAILS=$((SS_FAILS + 1))
check "ingest stops cleanly on SIGTERM" stop_ingest

# strict keys: a second consumer group reads the same input with INGEST_REQUIRE_KEY
nullkey_hex=$(jq -r '.[] | select(.key == null) | .hex' "$SS_TMP/manifest.json" | head -1)
# (and with the producer's default message.max.bytes, so the 1 MiB input's DLQ
# copy is refused: it must settle as failed, not block its partition)
check "strict-key ingest starts" start_ingest GROUP_ID=strict INGEST_REQUIRE_KEY=true
check "it takes every input again" ss_wait_for 60 bash -c "[ \"\$(curl -fsS http://127.0.0.1:$INGEST_PORT/metrics | awk '\$1==\"ingest_messages_in_total\"{print \$2}')\" = $sent ]"
check "and settles them all" ss_wait_for 30 settled
check "the DLQ copy over the producer's size limit is counted as failed" test "$(metric ingest_failed_total)" = 1
consume events.dlq >"$SS_TMP/dlq2.jsonl"
check "with INGEST_REQUIRE_KEY=true the keyless event is dead-lettered as null_key" \
  test "$(jq -r --arg h "$nullkey_hex" 'select(.value_hex == $h and .headers["__streamscore.errors.reason"] == "null_key") | .offset' "$SS_TMP/dlq2.jsonl" | wc -l)" = 1
check "ingest stops cleanly on SIGTERM" stop_ingest
ss_done
