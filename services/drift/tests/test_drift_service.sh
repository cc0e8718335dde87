#!/usr/bin/env bash
# streamscore-drift end to end on devkafka + redis: feature vectors, scores and
# labels (encoded by python3-avro) in; DriftResult records (decoded by
# python3-avro) out; thresholds -> statuses; a one-feature mean shift alerts
# that feature only; a score shift trips the change detector; labels join;
# /v1/drift, /metrics, /readyz; a promotion switches the baseline; SIGTERM.
# timeout: 240
. "$(dirname "$0")/../../../tests/lib.sh"
FIX="/usr/bin/python3 $SS_ROOT/services/drift/tests/drift_fixture.py"
TOOL="$SS_BUILD/bench/drift"
cd "$SS_ROOT"

ss_start_redis || { not_ok "redis starts"; ss_done; }
ss_start_kafka 4 || { not_ok "devkafka starts"; ss_done; }

STORE="$SS_TMP/models"
$FIX bundle "$STORE" card-fraud v1 5
$FIX bundle "$STORE" card-fraud v2 5
redis-cli -p "$REDIS_PORT" SET ss:model:card-fraud:active v1 >/dev/null

HTTP_PORT=$(ss_free_port)
export HTTP_PORT MODEL_STORE="$STORE" MODEL_NAME=card-fraud DRIFT_WINDOW_EVENTS=1000 DRIFT_WINDOW=0 \
  DRIFT_MODEL_POLL=300ms DRIFT_MIN_SAMPLES=100 LOG_LEVEL=info
ss_spawn drift "$SS_BIN/streamscore-drift"
check "drift becomes ready (baseline v1 from redis, kafka assigned)" \
  ss_wait_for 60 ss_http_ok "http://127.0.0.1:$HTTP_PORT/readyz"

produce() { # DIR: the three frame files into their topics; labels first (they
  # wait for their scores in the join), features last (they close the windows)
  "$TOOL" produce --brokers "$KAFKA_BROKERS" --topic labels <"$1/labels.frames" 2>/dev/null &&
  "$TOOL" produce --brokers "$KAFKA_BROKERS" --topic scores <"$1/scores.frames" 2>/dev/null &&
  sleep 0.5 &&
  "$TOOL" produce --brokers "$KAFKA_BROKERS" --topic features.enriched <"$1/features.frames" 2>/dev/null
}
results() { # decoded monitoring.drift records, one JSON per line, into $SS_TMP/results.jsonl
  "$TOOL" consume --brokers "$KAFKA_BROKERS" --topic monitoring.drift --idle-ms 1500 >"$SS_TMP/drift.frames" 2>/dev/null &&
  $FIX decode "$SS_TMP/drift.frames" >"$SS_TMP/results.jsonl"
}
windows_of() { # VERSION: distinct (window_end) with results of that version
  /usr/bin/python3 -c "import json,sys; print(len({r['window_end'] for r in map(json.loads, open('$SS_TMP/results.jsonl')) if r['model_version']=='$1'}))"
}
metric() { curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics"; }

# phase 1: 3 windows of stationary data with labels
mkdir -p "$SS_TMP/p1" "$SS_TMP/p2" "$SS_TMP/p3" "$SS_TMP/p4"
$FIX records "$SS_TMP/p1" 5 3000 0 --labels
check "stationary records produced" produce "$SS_TMP/p1"
wait_windows() { local want=$1 version=$2; results && [ "$(windows_of "$version")" -ge "$want" ]; }
check "three windows reported" ss_wait_for 60 wait_windows 3 v1
/usr/bin/python3 - "$SS_TMP/results.jsonl" >"$SS_TMP/p1.check" 2>&1 <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in rs if r["status"] == "ALERT"]
assert not bad, f"stationary ALERTs: {bad[:3]}"
metrics = {(r["feature"], r["metric"]) for r in rs}
for f in ["f00", "f01", "f02", "f03", "f04"]:
    for m in ["psi", "ks", "ks_pvalue", "wasserstein", "null_rate", "out_of_range_rate", "status"]:
        assert (f, m) in metrics, (f, m)
for m in ["chi2", "chi2_pvalue", "jensen_shannon", "psi", "out_of_range_rate"]:
    assert ("channel", m) in metrics, m
for m in ["psi", "ks", "wasserstein", "change_detected"]:
    assert ("__score__", m) in metrics, m
for m in ["precision", "recall", "auc", "label_delay_ms", "labels_joined"]:
    assert ("__performance__", m) in metrics, m
assert ("__overall__", "status") in metrics
psi = [r for r in rs if r["metric"] == "psi" and r["feature"] == "f00"][0]
assert psi["threshold"] == 0.2 and psi["model_name"] == "card-fraud" and psi["window_events"] == 1000, psi
delay = [r for r in rs if r["metric"] == "label_delay_ms"][0]
assert delay["value"] == 3600000.0, delay
auc = [r for r in rs if r["metric"] == "auc"][-1]
assert auc["value"] > 0.6, auc
print("ok", len(rs), "records")
PY
check "stationary windows: every metric reported, no ALERT, labels joined (AUC, delay)" test "$(tail -1 "$SS_TMP/p1.check" | cut -c1-2)" = ok
[ "$SS_FAILS" -gt 0 ] && cat "$SS_TMP/p1.check"

# phase 2: f02 shifted by one std -> f02 alerts, nothing else does
$FIX records "$SS_TMP/p2" 5 2000 3000 --shift-feature f02
check "shifted records produced" produce "$SS_TMP/p2"
check "two more windows reported" ss_wait_for 60 wait_windows 5 v1
/usr/bin/python3 - "$SS_TMP/results.jsonl" >"$SS_TMP/p2.check" 2>&1 <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
ends = sorted({r["window_end"] for r in rs})
late = [r for r in rs if r["window_end"] in ends[3:5]]
alerts = {(r["feature"], r["metric"]) for r in late if r["status"] == "ALERT"}
assert ("f02", "psi") in alerts and ("f02", "status") in alerts, alerts
others = {a for a in alerts if a[0] not in ("f02", "__overall__", "__score__")}
assert not others, others
print("ok")
PY
check "one-feature mean shift: f02 ALERT (psi), no other feature" test "$(tail -1 "$SS_TMP/p2.check")" = ok
[ "$SS_FAILS" -gt 0 ] && cat "$SS_TMP/p2.check"
check "the f02 psi alert is logged once" test "$(grep -c '"msg":"drift alert","feature":"f02","metric":"psi"' "$SS_TMP/drift.log")" = 1
check "/metrics exports the f02 psi gauge and status" \
  bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'streamscore_drift_status{model=\"card-fraud\",feature=\"f02\",metric=\"psi\"} 2'"
check "GET /v1/drift returns the latest window" \
  bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/v1/drift | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"model_version\"]==\"v1\" and d[\"results\"]'"

# phase 3: scores shift up -> the change detector trips
$FIX records "$SS_TMP/p3" 5 1000 5000 --score-shift 0.3
check "score-shifted records produced" produce "$SS_TMP/p3"
has_change() { results && grep -q '"feature": "__score__", "metric": "change_detected", "value": [1-9]' "$SS_TMP/results.jsonl"; }
check "score shift trips the change detector" ss_wait_for 60 has_change

# phase 4: promotion to v2 -> records under v2
redis-cli -p "$REDIS_PORT" SET ss:model:card-fraud:active v2 >/dev/null
sleep 1
$FIX records "$SS_TMP/p4" 5 1000 6000 --version v2
check "v2 records produced" produce "$SS_TMP/p4"
check "after promotion windows are reported under v2" ss_wait_for 60 wait_windows 1 v2
check "model info gauge follows the promotion" \
  bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'streamscore_drift_model_info{model=\"card-fraud\",version=\"v2\"} 1'"

# poison input: a record that is not Avro goes to the DLQ with reason headers
printf '\0\0\0\4card\0\0\0\5hello' | "$TOOL" produce --brokers "$KAFKA_BROKERS" --topic features.enriched 2>/dev/null
dlq_has() {
  "$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t events.dlq --idle-ms 1000 --format json 2>/dev/null |
    grep -q '"__streamscore.errors.service":"drift"'
}
check "an undecodable feature vector goes to events.dlq with reason headers" ss_wait_for 30 dlq_has
check "and is counted" bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'streamscore_drift_bad_records_total{input=\"features\"} 1'"

kill -TERM "$SS_PID_drift"
check "SIGTERM: drift exits 0" wait "$SS_PID_drift"

# a second instance: version pinned by MODEL_VERSION, windows by time only
# (1 s), its own group (re-reads everything) and output topic
HTTP_PORT=$(ss_free_port) MODEL_VERSION=v1 DRIFT_WINDOW_EVENTS=0 DRIFT_WINDOW=1s GROUP_ID=drift-pinned \
  TOPIC_DRIFT=events.ingest REDIS_URL=redis://127.0.0.1:1 ss_spawn pinned "$SS_BIN/streamscore-drift"
timed_windows() {
  "$TOOL" consume --brokers "$KAFKA_BROKERS" --topic events.ingest --idle-ms 1000 >"$SS_TMP/pinned.frames" 2>/dev/null &&
  $FIX decode "$SS_TMP/pinned.frames" | /usr/bin/python3 -c '
import json, sys
rs = [json.loads(l) for l in sys.stdin]
assert rs and all(r["model_version"] == "v1" for r in rs)
spans = {r["window_end"] - r["window_start"] for r in rs}
assert all(900 <= s <= 1600 for s in spans), spans'
}
check "pinned MODEL_VERSION, no redis needed; DRIFT_WINDOW closes ~1 s windows" ss_wait_for 60 timed_windows
kill -TERM "$SS_PID_pinned"
check "SIGTERM: the pinned instance exits 0" wait "$SS_PID_pinned"
ss_done
