#!/usr/bin/env bash
# bench/drift: feature vectors/s (50 features) through streamscore-drift's
# drift computations vs the Kafka consume->produce pass-through ceiling, on
# the same embedded Kafka, same data, same run. Prints both, ratio last.
#   BUILD=build bench/drift/run.sh [EVENTS] [FEATURES]
# Assumes `make all` ran. Nothing is built here.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
SS_FAILS=0
EVENTS=${1:-150000}
FEATURES=${2:-50}
PARTS=$(( EVENTS / 4500 > 16 ? EVENTS / 4500 : 16 )) # mock cluster: ~5 MiB per partition (~700 B per 50-feature vector)
TOOL="$SS_BUILD/bench/drift"
cd "$SS_ROOT"

ss_start_kafka "$PARTS" >/dev/null || { echo "devkafka did not start" >&2; exit 1; }
STORE="$SS_TMP/models"
/usr/bin/python3 services/drift/tests/drift_fixture.py bundle "$STORE" card-fraud bench "$FEATURES"

echo "# producing $EVENTS feature vectors with $FEATURES features to features.enriched ($PARTS partitions)"
"$TOOL" gen --brokers "$KAFKA_BROKERS" --topic features.enriched --events "$EVENTS" --features "$FEATURES" \
  --seed 7 2>"$SS_TMP/gen.log" || { cat "$SS_TMP/gen.log" >&2; exit 1; }

# --- drift: consume features.enriched, decode, fold 50 features into windows of
# 10,000 events, evaluate every metric, produce the results. The rate comes
# from the service's own window bounds (processing time): events of windows
# 2..last over (last window end - first window end), so start-up and group
# join are excluded.
DPORT=$(ss_free_port)
HTTP_PORT=$DPORT MODEL_STORE="$STORE" MODEL_NAME=card-fraud MODEL_VERSION=bench DRIFT_WINDOW_EVENTS=10000 \
  DRIFT_WINDOW=0 LOG_LEVEL=warn GROUP_ID=bench-drift ss_spawn drift "$SS_BIN/streamscore-drift"
WINDOWS=$((EVENTS / 10000))
windows_done() {
  "$TOOL" consume --brokers "$KAFKA_BROKERS" --topic monitoring.drift --idle-ms 1000 >"$SS_TMP/drift.frames" 2>/dev/null &&
  /usr/bin/python3 services/drift/tests/drift_fixture.py decode "$SS_TMP/drift.frames" >"$SS_TMP/results.jsonl" &&
  [ "$(/usr/bin/python3 -c "import json; print(len({json.loads(l)['window_end'] for l in open('$SS_TMP/results.jsonl')}))")" -ge "$WINDOWS" ]
}
ss_wait_for 120 windows_done || { echo "drift did not report $WINDOWS windows" >&2; tail "$SS_TMP/drift.log" >&2; exit 1; }
drift_rate=$(/usr/bin/python3 - "$SS_TMP/results.jsonl" <<'PY'
import json, sys
w = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    w[r["window_end"]] = r["window_events"]
ends = sorted(w)
print(f"{sum(w[e] for e in ends[1:]) / ((ends[-1] - ends[0]) / 1000.0):.0f}")
PY
)
kill -TERM "$SS_PID_drift"; wait "$SS_PID_drift" 2>/dev/null

# --- reference: plain librdkafka consume->produce on the same data (information only)
plain_rate=$("$TOOL" passthrough --brokers "$KAFKA_BROKERS" --topic features.enriched --to scores \
  --max "$EVENTS" 2>>"$SS_TMP/plain.log") || plain_rate="?"
# --- ceiling: the foundation's pass-through on the same topic and data
ceiling_rate=$(CEILING_EVENTS=$EVENTS . bench/drift/ceiling.sh) || exit 1

echo "drift (decode + ${FEATURES}-feature windows + evaluate): $drift_rate events/s"
echo "plain librdkafka consume->produce (reference): $plain_rate events/s"
echo "ceiling (libs/common pass-through, tools/passthrough): $ceiling_rate events/s"
/usr/bin/python3 -c "print(f'ratio: {$drift_rate / $ceiling_rate:.2f}')"
