#!/usr/bin/env bash
# kill -9 mid-stream and restart: every accepted event is in events.raw
# (at-least-once: offsets are stored only after the output is acknowledged),
# none lost; redelivered inputs carry their own dedup token and so are not
# mistaken for duplicates.
# timeout: 150
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
. services/ingest/tests/ingest_lib.sh
PY=/usr/bin/python3
EV=services/ingest/tests/events_py.py
N=3000

ss_start_redis && ss_start_kafka 4 || { not_ok "redis and devkafka start"; ss_done; }
check "ingest starts" start_ingest
$PY $EV gen $N 1 crash >"$SS_TMP/all.jsonl"
jq -r '[.card_id, (. | tojson)] | @tsv' "$SS_TMP/all.jsonl" >"$SS_TMP/all.tsv"
(
  # a steady stream in chunks, so the kill lands mid-stream
  split -l 150 "$SS_TMP/all.tsv" "$SS_TMP/chunk."
  for f in "$SS_TMP"/chunk.*; do
    kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K $'\t' "$f" -l 2>/dev/null ||
      kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K $'\t' <"$f"
    sleep 0.1
  done
) &
producer=$!
ss_wait_for 30 metric_at_least ingest_messages_out_total 300
before=$(metric ingest_messages_out_total)
kill -KILL "$SS_PID_ingest"
wait "$SS_PID_ingest" 2>/dev/null
diag "killed after $before acknowledged outputs"
check "killed mid-stream (some but not all events processed)" test "${before%.*}" -lt $N
check "ingest restarts" start_ingest
wait $producer
count_raw() {
  consume events.raw 1000 >"$SS_TMP/raw.jsonl"
  raw_events "$SS_TMP/raw.jsonl" | jq -r .event_id | sort -u >"$SS_TMP/raw.ids"
  [ "$(wc -l <"$SS_TMP/raw.ids")" -ge $N ]
}
check "every one of the $N events reached events.raw" ss_wait_for 90 count_raw
jq -r .event_id "$SS_TMP/all.jsonl" | sort >"$SS_TMP/sent.ids"
check "no event lost (set of ids equal)" cmp -s "$SS_TMP/sent.ids" "$SS_TMP/raw.ids"
diag "events.raw holds $(wc -l <"$SS_TMP/raw.jsonl") records for $N events (redelivered after the kill)"
check "nothing dead-lettered" test "$(consume events.dlq 1000 | wc -l)" = 0
check "redeliveries were not counted as duplicates" test "$(metric ingest_duplicates_total)" = 0
check "ingest stops cleanly on SIGTERM" stop_ingest
ss_done
