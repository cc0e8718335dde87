# Helpers for the ingest integration tests; source after tests/lib.sh.
INGEST_PORT=
# start_ingest [VAR=value...]: run streamscore-ingest with extra environment
# and wait until /readyz answers 200
start_ingest() {
  INGEST_PORT=$(ss_free_port)
  ss_spawn ingest env HTTP_PORT="$INGEST_PORT" "$@" "$SS_BIN/streamscore-ingest"
  ss_wait_for 30 ss_http_ok "http://127.0.0.1:$INGEST_PORT/readyz"
}
# stop_ingest: SIGTERM, wait; fails unless it exits 0 without a sanitizer report
stop_ingest() {
  kill -TERM "$SS_PID_ingest" 2>/dev/null
  wait "$SS_PID_ingest" 2>/dev/null
  local rc=$?
  ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SS_TMP/ingest.log" && [ $rc -eq 0 ]
}
# metric NAME[{labels}]: current value (0 when absent)
metric() {
  curl -fsS --max-time 2 "http://127.0.0.1:$INGEST_PORT/metrics" 2>/dev/null |
    awk -v n="$1" '$1 == n { v = $2 } END { print v == "" ? 0 : v }'
}
metric_at_least() { [ "$(metric "$1" | cut -d. -f1)" -ge "$2" ]; }
settled() { [ "$(metric ingest_pending)" = 0 ]; }
# consume TOPIC [IDLE_MS]: every record as JSON lines (sskafka --format json)
consume() { "$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t "$1" --idle-ms "${2:-1500}" --format json; }
# raw_events FILE: decode the values of an sskafka json dump of events.raw to JSON lines
raw_events() { jq -r .value_hex "$1" | "$SS_BIN/avrocat" decode card_transaction; }
# to_files HEXFILE PREFIX: one binary file per hex line, $SS_TMP/PREFIX-0001.bin ...
# (kcat -P sends each file as one message: binary Avro needs no delimiter)
to_files() {
  /usr/bin/python3 -c 'import sys
for i, line in enumerate(open(sys.argv[1]), 1):
    open("%s-%04d.bin" % (sys.argv[2], i), "wb").write(bytes.fromhex(line.strip()))' "$1" "$SS_TMP/$2"
}
