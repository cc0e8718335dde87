#!/usr/bin/env bash
# loadgen end to end: JSON lines are schema-valid CardTransaction/Label records,
# the summary matches the output, a seed names one stream, exactly N invalid
# events are injected; to Kafka (JSON and Avro), every event and label arrives.
# timeout: 180
. "$(dirname "$0")/../../../tests/lib.sh"
LG="$SS_BIN/loadgen"
cd "$SS_ROOT"

"$LG" --out "$SS_TMP/a.jsonl" --labels-out "$SS_TMP/a.labels" --events 20000 --invalid 12 \
  --start-time 1795000000000 --summary "$SS_TMP/a.json" --status-interval 0
check "loadgen writes JSON lines" test $? -eq 0
"$LG" --out "$SS_TMP/b.jsonl" --labels-out "$SS_TMP/b.labels" --events 20000 --invalid 12 \
  --start-time 1795000000000 --summary "$SS_TMP/b.json" --status-interval 0
check "same seed, same events" cmp -s "$SS_TMP/a.jsonl" "$SS_TMP/b.jsonl"
check "same seed, same labels" cmp -s "$SS_TMP/a.labels" "$SS_TMP/b.labels"
"$LG" --seed 7 --out "$SS_TMP/c.jsonl" --events 20000 --start-time 1795000000000 \
  --summary "$SS_TMP/c.json" --status-interval 0 --no-labels
check "another seed, other events" bash -c "! cmp -s '$SS_TMP/a.jsonl' '$SS_TMP/c.jsonl'"

# schema validity and summary consistency, checked with python3-avro
/usr/bin/python3 - "$SS_TMP" <<'PY'
import json, sys, avro.schema, avro.io
d = sys.argv[1]
def plain(s):  # JSON carries timestamp-millis as a long; python3-avro wants datetimes
    if isinstance(s, dict):
        return {k: plain(v) for k, v in s.items() if k != "logicalType"}
    return [plain(x) for x in s] if isinstance(s, list) else s
def schema(f):
    return avro.schema.parse(json.dumps(plain(json.load(open(f)))))
ev_schema = schema("schemas/card_transaction.avsc")
lb_schema = schema("schemas/label.avsc")
summary = json.load(open(d + "/a.json"))
valid, bad, ids = 0, 0, set()
for line in open(d + "/a.jsonl"):
    try:
        e = json.loads(line)
    except ValueError:
        bad += 1
        continue
    if isinstance(e, dict) and avro.io.validate(ev_schema, e) and e["amount"] >= 0:
        valid += 1
        ids.add(e["event_id"])
    else:
        bad += 1
labels, fraud = 0, 0
for line in open(d + "/a.labels"):
    l = json.loads(line)
    assert avro.io.validate(lb_schema, l), l
    assert l["event_id"] in ids, l
    assert l["label_time"] - l["event_time"] == 10000
    labels += 1
    fraud += l["label"]
def check(name, cond):
    print(("ok" if cond else "not ok") + " - " + name)
check("every valid line is a schema-valid CardTransaction (%d)" % valid, valid == summary["events"] == 20000)
check("exactly the invalid events asked for (%d)" % bad, bad == summary["invalid"]["total"] == 12)
check("each kind of invalid event injected", all(summary["invalid"].get(k) == 2 for k in
      ["malformed", "missing_field", "wrong_type", "bad_enum", "negative_amount", "not_object"]))
check("one schema-valid label per event", labels == len(ids) == summary["labels"])
check("label fraud count matches the summary", fraud == summary["labels_fraud"] == summary["fraud"])
check("fraud rate in 0.5-2 %% (%.4f)" % summary["fraud_rate"], 0.005 <= summary["fraud_rate"] <= 0.02)
check("every pattern present", all(v > 0 for v in summary["by_pattern"].values()))
PY
[ -n "${SS_SKIP_KAFKA:-}" ] && ss_done

# ---- Kafka: every event and label acknowledged and present in the topics
if [ ! -x "$SS_BIN/devkafka" ] || [ ! -x "$SS_BIN/sskafka" ]; then
  not_ok "devkafka and sskafka are built"; ss_done
fi
ss_start_kafka 4
for fmt in json avro; do
  "$LG" --kafka "$KAFKA_BROKERS" --format $fmt --rate 4000 --duration 3 --label-delay 1 \
    --invalid 4 --invalid-kinds malformed,bad_enum,avro_truncated,avro_unknown_schema \
    --topic "ingest.$fmt" --labels-topic "labels.$fmt" --summary "$SS_TMP/k.$fmt.json" \
    --status-interval 0 --id-prefix "k$fmt" >"$SS_TMP/loadgen.$fmt.log" 2>&1
  check "loadgen to Kafka ($fmt) exits 0" test $? -eq 0
  n=$(jq '.events + .invalid.total' "$SS_TMP/k.$fmt.json")
  l=$(jq '.labels' "$SS_TMP/k.$fmt.json")
  # --max stops at the expected count; one more would show up within the idle time
  "$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t "ingest.$fmt" --format json --idle-ms 1500 \
    --max $((n + 1)) >"$SS_TMP/in.$fmt.json"
  got=$(wc -l <"$SS_TMP/in.$fmt.json")
  check "events.ingest holds every event ($fmt: $got of $n)" test "$got" = "$n"
  "$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t "labels.$fmt" --format json --idle-ms 1500 \
    --max $((l + 1)) >"$SS_TMP/lb.$fmt.json"
  got=$(wc -l <"$SS_TMP/lb.$fmt.json")
  check "labels holds every label ($fmt: $got of $l)" test "$got" = "$l"
done

# the Avro encodings decode with an independent implementation (python3-avro)
/usr/bin/python3 - "$SS_TMP" <<'PY'
import io, json, struct, sys, avro.io, avro.schema
d = sys.argv[1]
def plain(s):
    if isinstance(s, dict):
        return {k: plain(v) for k, v in s.items() if k != "logicalType"}
    return [plain(x) for x in s] if isinstance(s, list) else s
ids = {e["id"]: avro.schema.parse(json.dumps(plain(json.load(open("schemas/" + e["file"])))))
       for e in json.load(open("schemas/ids.json"))["schemas"]}
def decode(b):
    if len(b) < 5 or b[0] != 0:
        raise ValueError("not framed")
    sid = struct.unpack(">I", b[1:5])[0]
    if sid not in ids:
        raise ValueError("unknown id")
    dec = avro.io.BinaryDecoder(io.BytesIO(b[5:]))
    rec = avro.io.DatumReader(ids[sid]).read(dec)
    if dec.reader.read(1):
        raise ValueError("trailing bytes")
    return sid, rec
def check(name, cond):
    print(("ok" if cond else "not ok") + " - " + name)
summary = json.load(open(d + "/k.avro.json"))
good = bad = 0
for line in open(d + "/in.avro.json"):
    m = json.loads(line)
    b = bytes.fromhex(m["value_hex"])
    try:
        sid, rec = decode(b)
        good += sid == 1 and rec["card_id"] == m["key"] and not rec["event_id"].endswith("-bad")
    except Exception:
        bad += 1
check("Avro events decode as CardTransaction keyed by card (%d)" % good, good == summary["events"])
check("JSON and Avro invalid kinds do not decode (%d)" % bad, bad == summary["invalid"]["total"])
labels = [decode(bytes.fromhex(json.loads(l)["value_hex"])) for l in open(d + "/lb.avro.json")]
check("labels decode as Label records", all(sid == 4 for sid, _ in labels) and len(labels) == summary["labels"])
check("labelled fraud matches the summary", sum(r["label"] for _, r in labels) == summary["labels_fraud"])
PY

# ---- through the gateway: valid events accepted (202 after Kafka acks),
# invalid ones refused with 4xx one by one; labels straight to Kafka
ss_start_redis
KEY=loadgen-test-key
GW_PORT=$(ss_free_port)
HTTP_PORT=$GW_PORT TOPIC_INGEST=ingest.gw API_KEYS="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) produce loadgen" \
  ss_spawn gateway "$SS_BIN/streamscore-gateway"
ss_wait_for 20 ss_http_ok "http://127.0.0.1:$GW_PORT/readyz"
check "gateway is ready" ss_http_ok "http://127.0.0.1:$GW_PORT/readyz"
"$LG" --gateway "http://127.0.0.1:$GW_PORT" --api-key "$KEY" --rate 2000 --duration 2 --label-delay 1 \
  --invalid 3 --invalid-kinds bad_enum,missing_field,negative_amount --labels-kafka "$KAFKA_BROKERS" \
  --labels-topic labels.gw --summary "$SS_TMP/gw.json" --status-interval 0 --id-prefix gw >"$SS_TMP/loadgen.gw.log" 2>&1
check "loadgen through the gateway exits 0" test $? -eq 0
n=$(jq .events "$SS_TMP/gw.json")
check "the gateway acknowledged every valid event ($(jq .acked "$SS_TMP/gw.json") of $n + labels)" \
  test "$(jq '.acked - .labels' "$SS_TMP/gw.json")" = "$n"
check "the gateway refused each invalid event ($(jq .rejected "$SS_TMP/gw.json"))" \
  test "$(jq .rejected "$SS_TMP/gw.json")" = 3
got=$("$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t ingest.gw --format count --idle-ms 1500 --max $((n + 1)))
check "events.ingest holds the gateway's events ($got of $n)" test "$got" = "$n"
ss_done
