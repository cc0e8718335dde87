#!/usr/bin/env bash
# streamscore-features killed (SIGKILL) in the middle of a stream, then
# restarted: every event still reaches features.enriched and the offline store
# (at-least-once), redelivered events get vectors identical to the first ones,
# the crashed part files are recovered and no half-written file is published.
# timeout: 240
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
IO="/usr/bin/python3 services/features/tests/kafka_io.py"
PY=/usr/bin/python3
N=6000

ss_start_redis || { not_ok "redis starts"; ss_done; }
ss_start_kafka 4 || { not_ok "devkafka starts"; ss_done; }
OFFLINE="$SS_TMP/offline"
start_features() {
  HTTP_PORT=$(ss_free_port)
  ss_spawn "$1" env KAFKA_BROKERS="$KAFKA_BROKERS" REDIS_URL="$REDIS_URL" HTTP_PORT="$HTTP_PORT" \
    OFFLINE_DIR="$OFFLINE" OFFLINE_FLUSH_INTERVAL=100ms FEATURES_FILE=features/card_fraud.json \
    SCHEMA_DIR=schemas BATCH_MAX=50 "$SS_BIN/streamscore-features"
  ss_wait_for 30 ss_http_ok "http://127.0.0.1:$HTTP_PORT/readyz"
}
check "service starts" start_features features1
$IO events "$KAFKA_BROKERS" events.raw $N 5 k "$SS_TMP/k.jsonl" >/dev/null &
producer=$!
# kill it once it has produced part of the stream
ss_wait_for 60 bash -c "[ \$(find $OFFLINE/features -name '*.avro.tmp' -size +2k | wc -l) -gt 0 ]"
sleep 0.5
check "service still running when killed" kill -0 "$SS_PID_features1"
kill -KILL "$SS_PID_features1"
wait "$SS_PID_features1" 2>/dev/null
wait "$producer"
tmp_left=$(find "$OFFLINE" -name '*.avro.tmp' | wc -l)
check "the crash left part files behind ($tmp_left)" test "$tmp_left" -gt 0

# whatever whole blocks the part files hold must come back at start-up; the
# count is read independently (a file past its header may hold no whole block)
whole=$($PY services/features/tests/whole_records.py $(find "$OFFLINE/features" -name '*.avro.tmp'))
check "service restarts" start_features features2
recovered_records() {
  $PY services/features/tests/read_offline.py "$OFFLINE" features | grep -c -- '-recovered.avro"'
}
if [ "$whole" -gt 0 ]; then
  check "crashed part files recovered at start-up ($whole whole records)" ss_wait_for 10 bash -c \
    "grep -q 'recovered $whole features records' $SS_TMP/features2.log"
  got=$(recovered_records)
  check "recovered files hold exactly the whole records ($got of $whole)" test "$got" -eq "$whole"
else
  ok "crashed part files recovered at start-up # SKIP killed before a whole block was written"
  check "nothing recovered from files with no whole block" test "$(recovered_records)" -eq 0
fi
$IO consume "$KAFKA_BROKERS" features.enriched feature_vector $N 90 "$SS_TMP/all.jsonl" distinct >/dev/null
kill -TERM "$SS_PID_features2"
wait "$SS_PID_features2"; rc=$?
check "clean exit after the restart (rc=$rc)" test "$rc" -eq 0
check "no half-written files left" test -z "$(find "$OFFLINE" -name '*.tmp')"
$PY services/features/tests/read_offline.py "$OFFLINE" features >"$SS_TMP/offline.jsonl"
check "every event in Kafka and offline; duplicates identical" $PY - "$SS_TMP/all.jsonl" "$SS_TMP/offline.jsonl" $N <<'EOF2'
import json, sys, collections
n = int(sys.argv[3])
want = {"k-%d" % i for i in range(n)}
def load(path):
    by = collections.defaultdict(set)
    for l in open(path):
        r = json.loads(l)["record"]
        by[r["event_id"]].add(json.dumps(r, sort_keys=True))
    return by
kafka, offline = load(sys.argv[1]), load(sys.argv[2])
assert set(kafka) == want, ("kafka", len(set(kafka)), sorted(want - set(kafka))[:5])
assert set(offline) == want, ("offline", len(set(offline)), sorted(want - set(offline))[:5])
for k in want:  # at-least-once, but every copy of a vector is the same vector
    assert len(kafka[k]) == 1 and kafka[k] == offline[k], k
print("# %d events, %d Kafka records" % (n, sum(1 for _ in open(sys.argv[1]))))
EOF2
ss_done
