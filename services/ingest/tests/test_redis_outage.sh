#!/usr/bin/env bash
# Redis (dedup) goes away mid-stream: ingest pauses, /readyz turns false,
# nothing is dropped or dead-lettered for it; when Redis returns, ingest
# resumes and every event reaches events.raw.
# timeout: 120
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
. services/ingest/tests/ingest_lib.sh
PY=/usr/bin/python3
EV=services/ingest/tests/events_py.py
readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$INGEST_PORT/readyz"; }
send() { jq -r '[.card_id, (. | tojson)] | @tsv' "$1" | kcat -b "$KAFKA_BROKERS" -P -t events.ingest -K $'\t'; }

ss_start_redis && ss_start_kafka 2 || { not_ok "redis and devkafka start"; ss_done; }
check "ingest starts" start_ingest
$PY $EV gen 50 1 before >"$SS_TMP/before.jsonl"
$PY $EV gen 50 2 during >"$SS_TMP/during.jsonl"
send "$SS_TMP/before.jsonl"
check "50 events through while Redis is up" ss_wait_for 30 metric_at_least ingest_messages_out_total 50

ss_stop_redis
check "/readyz turns false when Redis goes away" ss_wait_for 20 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$INGEST_PORT/readyz)\" = 503 ]"
send "$SS_TMP/during.jsonl"
sleep 3
check "ingest is paused: nothing more reached events.raw" test "$(metric ingest_messages_out_total)" = 50
check "nothing was dead-lettered for it" test "$(consume events.dlq 1000 | wc -l)" = 0
check "the service is alive while paused" ss_http_ok "http://127.0.0.1:$INGEST_PORT/healthz"

ss_restart_redis
check "ingest resumes when Redis returns" ss_wait_for 60 metric_at_least ingest_messages_out_total 100
check "/readyz is true again" test "$(readyz)" = 200
check "still nothing dead-lettered" test "$(consume events.dlq 1000 | wc -l)" = 0
consume events.raw >"$SS_TMP/raw.jsonl"
raw_events "$SS_TMP/raw.jsonl" >"$SS_TMP/raw.events"
cat "$SS_TMP/before.jsonl" "$SS_TMP/during.jsonl" >"$SS_TMP/all.jsonl"
check "all 100 events are in events.raw, once, equal to what was sent" $PY $EV same "$SS_TMP/all.jsonl" "$SS_TMP/raw.events"
check "ingest stops cleanly on SIGTERM" stop_ingest
ss_done
