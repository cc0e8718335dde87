#!/usr/bin/env bash
# streamscore-features end to end on devkafka + redis-server: vectors on
# features.enriched keyed by entity, redelivered events give identical vectors,
# Redis down pauses (readyz false) and nothing is lost, online vectors in
# Redis, offline files (read by python3-avro) hold exactly the vectors
# produced, labels land in their own files, SIGTERM publishes every file.
# timeout: 240
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
IO="/usr/bin/python3 services/features/tests/kafka_io.py"
PY=/usr/bin/python3

ss_start_redis || { not_ok "redis starts"; ss_done; }
ss_start_kafka 4 || { not_ok "devkafka starts"; ss_done; }
HTTP_PORT=$(ss_free_port)
OFFLINE="$SS_TMP/offline"
ss_spawn features env KAFKA_BROKERS="$KAFKA_BROKERS" REDIS_URL="$REDIS_URL" HTTP_PORT="$HTTP_PORT" \
  OFFLINE_DIR="$OFFLINE" OFFLINE_FLUSH_INTERVAL=200ms FEATURES_FILE=features/card_fraud.json \
  SCHEMA_DIR=schemas "$SS_BIN/streamscore-features"
READY="http://127.0.0.1:$HTTP_PORT/readyz"
check "service becomes ready" ss_wait_for 30 ss_http_ok "$READY"

# ---- batch 1: 300 events + 40 labels
$IO events "$KAFKA_BROKERS" events.raw 300 1 a "$SS_TMP/a.jsonl" >/dev/null
$IO labels "$KAFKA_BROKERS" labels "$SS_TMP/a.jsonl" 40 >/dev/null
n=$($IO consume "$KAFKA_BROKERS" features.enriched feature_vector 300 60 "$SS_TMP/v1.jsonl")
check "300 vectors on features.enriched (got $n)" test "$n" -ge 300

check "vectors: keyed by card, 34 features, definitions version" $PY - "$SS_TMP/v1.jsonl" "$SS_TMP/a.jsonl" <<'EOF'
import json, sys
vs = [json.loads(l) for l in open(sys.argv[1])]
ev = {e["event_id"]: e for e in map(json.loads, open(sys.argv[2]))}
for v in vs:
    r = v["record"]
    e = ev[r["event_id"]]
    assert v["key"] == e["card_id"] == r["entity_id"], v
    assert r["entities"]["card"] == e["card_id"] and r["entities"]["merchant"] == e["merchant_id"]
    assert ("device" in r["entities"]) == (e["device_id"] is not None)
    assert r["event_time"] == e["event_time"]
    assert len(r["features"]) == 34 and r["definitions_version"] == "card-fraud-1", r
    assert r["categories"]["channel"] == e["channel"]
    assert r["features"]["card_txn_count_24h"] >= 1
EOF

# ---- redelivery: the first 30 events again -> identical vectors
$IO replay "$KAFKA_BROKERS" events.raw "$SS_TMP/a.jsonl" 30 >/dev/null
$IO consume "$KAFKA_BROKERS" features.enriched feature_vector 330 60 "$SS_TMP/v1b.jsonl" >/dev/null
check "redelivered events get identical vectors" $PY - "$SS_TMP/v1b.jsonl" <<'EOF'
import json, sys, collections
by = collections.defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l)["record"]
    by[r["event_id"]].append(r)
twice = [k for k, v in by.items() if len(v) == 2]
assert len(twice) == 30 and len(by) == 300, (len(twice), len(by))
for k in twice:
    a, b = by[k]
    assert a == b, (a, b)   # every field, computed_at included
EOF
online=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'ss:online:card:*' | wc -l)
check "online vectors for the 20 cards ($online)" test "$online" -eq 20
check "online vector is JSON with card features" bash -c \
  "redis-cli -p $REDIS_PORT GET ss:online:card:card3 | jq -e '.entity == \"card\" and (.features | has(\"card_txn_count_1h\")) and (.features | has(\"merchant_txn_count_1h\") | not)' >/dev/null"

# ---- Redis down: not ready, input waits; back: nothing lost
ss_stop_redis
check "readyz false while redis is down" ss_wait_for 10 bash -c "! curl -fsS -o /dev/null --max-time 2 $READY"
$IO events "$KAFKA_BROKERS" events.raw 200 2 b "$SS_TMP/b.jsonl" >/dev/null
sleep 2
ss_restart_redis
check "ready again after redis returns" ss_wait_for 30 ss_http_ok "$READY"
$IO consume "$KAFKA_BROKERS" features.enriched feature_vector 530 60 "$SS_TMP/v2.jsonl" >/dev/null
check "all 500 event ids produced after the outage" $PY - "$SS_TMP/v2.jsonl" <<'EOF'
import json, sys
ids = {json.loads(l)["record"]["event_id"] for l in open(sys.argv[1])}
want = {"a-%d" % i for i in range(300)} | {"b-%d" % i for i in range(200)}
assert ids == want, sorted(want - ids)[:10]
EOF

# ---- Redis answering errors (OOM): retried, not dropped
redis-cli -p "$REDIS_PORT" config set maxmemory 1 >/dev/null
$IO events "$KAFKA_BROKERS" events.raw 20 3 c "$SS_TMP/c.jsonl" >/dev/null
check "script errors are counted and retried" ss_wait_for 20 bash -c \
  "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -Eq '^streamscore_features_script_errors_total [1-9]'"
redis-cli -p "$REDIS_PORT" config set maxmemory 0 >/dev/null
$IO consume "$KAFKA_BROKERS" features.enriched feature_vector 550 60 "$SS_TMP/v3.jsonl" >/dev/null
check "the 20 events refused by Redis are produced once it accepts again" bash -c \
  "[ \$(grep -c '\"event_id\": \"c-' $SS_TMP/v3.jsonl) -eq 20 ]"

# ---- undecodable input goes to the DLQ with its reason
$IO garbage "$KAFKA_BROKERS" events.raw '{"not":"avro"}'
$IO headers "$KAFKA_BROKERS" events.dlq 30 >"$SS_TMP/dlq.txt"
check "undecodable event dead-lettered with reason headers" bash -c \
  "grep -q '__streamscore.errors.reason' $SS_TMP/dlq.txt && grep -q 'magic' $SS_TMP/dlq.txt && grep -q 'not' $SS_TMP/dlq.txt"

check "metrics exported" bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'streamscore_features_events_total{result=\"duplicate\"} 30'"

# ---- SIGTERM: drain, publish every file
kill -TERM "$SS_PID_features"
for _ in $(seq 100); do kill -0 "$SS_PID_features" 2>/dev/null || break; sleep 0.1; done
wait "$SS_PID_features"; rc=$?
check "service exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
check "no half-written files left" test -z "$(find "$OFFLINE" -name '*.tmp')"
$IO consume "$KAFKA_BROKERS" features.enriched feature_vector 550 60 "$SS_TMP/all.jsonl" >/dev/null
$PY services/features/tests/read_offline.py "$OFFLINE" features >"$SS_TMP/offline.jsonl"
check "offline files hold exactly the vectors produced" $PY - "$SS_TMP/all.jsonl" "$SS_TMP/offline.jsonl" <<'EOF'
import json, sys, collections
def key(r):
    return json.dumps(r, sort_keys=True)
kafka = collections.Counter(key(json.loads(l)["record"]) for l in open(sys.argv[1]))
offline = collections.Counter(key(json.loads(l)["record"]) for l in open(sys.argv[2]))
assert sum(kafka.values()) == 550, sum(kafka.values())
assert kafka == offline, (sum(kafka.values()), sum(offline.values()))
for l in open(sys.argv[2]):
    row = json.loads(l)
    r, f = row["record"], row["file"]
    import datetime
    h = datetime.datetime.utcfromtimestamp(r["event_time"] / 1000).strftime("date=%Y-%m-%d/hour=%H/")
    assert f.startswith("features/" + h), (f, h)
EOF
$PY services/features/tests/read_offline.py "$OFFLINE" labels >"$SS_TMP/labels.jsonl"
check "40 labels in the offline label files" test "$(wc -l <"$SS_TMP/labels.jsonl")" -eq 40
ss_done
