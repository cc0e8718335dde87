#!/usr/bin/python3
"""Verify a finished bounded demo run against what its topics hold.

Reads every topic of the run (through build/bin/sskafka), decodes the Avro
records with python3-avro (an implementation independent of the services'),
and checks, printing TAP lines:

- every event loadgen produced is on events.ingest;
- every valid event reached events.raw exactly once and has exactly one
  PRIMARY score in `scores`, and nothing else was scored;
- events.dlq holds exactly the invalid events loadgen injected (by id and
  kind) with reason headers;
- drift results exist for every window, contiguous, each with an overall status;
- the demo's summary numbers equal what the topics hold.

    tools/demo/check-run RUN_DIR     (RUN_DIR has endpoints.env, summary.json,
                                      loadgen-summary.json)
"""
import collections
import io
import json
import os
import struct
import subprocess
import sys

import avro.io
import avro.schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILS = 0
N = 0


def check(name, cond, detail=""):
    global FAILS, N
    N += 1
    if not cond:
        FAILS += 1
    print("%s %d - %s%s" % ("ok" if cond else "not ok", N, name, "" if cond or not detail else " (%s)" % detail),
          flush=True)
    return cond


def plain(s):
    """Drop logical types: timestamps stay longs."""
    if isinstance(s, dict):
        return {k: plain(v) for k, v in s.items() if k != "logicalType"}
    return [plain(x) for x in s] if isinstance(s, list) else s


def load_schemas(schema_dir):
    ids = json.load(open(os.path.join(schema_dir, "ids.json")))
    out = {}
    for e in ids["schemas"]:
        path = os.path.join(schema_dir, e["file"])
        if os.path.exists(path):
            out[e["id"]] = avro.schema.parse(json.dumps(plain(json.load(open(path)))))
    return out


def decode(value, schemas):
    """Confluent framing: 0x00, schema id (4 bytes BE), Avro binary."""
    if len(value) < 5 or value[0] != 0:
        raise ValueError("not Confluent-framed Avro")
    sid = struct.unpack(">I", value[1:5])[0]
    schema = schemas[sid]
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))


def consume(sskafka, brokers, topic):
    """[(key bytes, value bytes, {header: value})] of a whole topic."""
    r = subprocess.run([sskafka, "consume", "-b", brokers, "-t", topic, "--format", "json",
                        "--idle-ms", "2000"], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("sskafka consume %s: %s" % (topic, r.stderr.strip()))
    out = []
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        out.append(((rec.get("key") or "").encode(), bytes.fromhex(rec.get("value_hex") or ""),
                    rec.get("headers") or {}))
    return out


def main():
    run = sys.argv[1]
    env = dict(l.strip().split("=", 1) for l in open(os.path.join(run, "endpoints.env")) if "=" in l)
    build = os.environ.get("BUILD", "build")
    sskafka = os.path.join(build if os.path.isabs(build) else os.path.join(ROOT, build), "bin", "sskafka")
    schemas = load_schemas(os.path.join(ROOT, "schemas"))
    lg = json.load(open(os.path.join(run, "loadgen-summary.json")))
    summary = json.load(open(os.path.join(run, "summary.json")))
    brokers = env["KAFKA_BROKERS"]
    t = {name: consume(sskafka, brokers, name) for name in
         ("events.ingest", "events.raw", "events.dlq", "features.enriched", "scores", "labels",
          "monitoring.drift")}

    valid, invalid = lg["events"], lg["invalid"]["total"]
    check("events.ingest holds every produced event (%d + %d invalid)" % (valid, invalid),
          len(t["events.ingest"]) == valid + invalid, "got %d" % len(t["events.ingest"]))

    raw = [decode(v, schemas) for _, v, _ in t["events.raw"]]
    raw_ids = collections.Counter(r["event_id"] for r in raw)
    check("events.raw: every valid event exactly once", len(raw_ids) == valid and max(raw_ids.values()) == 1,
          "%d distinct of %d, max %d" % (len(raw_ids), valid, max(raw_ids.values() or [0])))
    check("no invalid event passed validation", not any(i.endswith("-bad") for i in raw_ids))

    scores = [decode(v, schemas) for _, v, _ in t["scores"]]
    primary = collections.Counter(s["event_id"] for s in scores if s["role"] == "PRIMARY")
    dup = [i for i, n in primary.items() if n > 1]
    missing = set(raw_ids) - set(primary)
    check("every valid event has exactly one PRIMARY score", not dup and not missing,
          "%d duplicated, %d missing" % (len(dup), len(missing)))
    check("nothing but the valid events was scored", set(primary) <= set(raw_ids))
    keys_ok = all(k.decode() == s["entity_id"] for (k, _, _), s in zip(t["scores"], scores))
    check("scores are keyed by entity id", keys_ok)

    dlq = t["events.dlq"]
    bad_ids = set()
    for _, v, _ in dlq:
        try:
            e = json.loads(v)
            if isinstance(e, dict):
                bad_ids.add(e.get("event_id"))
            elif isinstance(e, list):
                bad_ids.add(e[0])
        except ValueError:
            pass  # malformed JSON: counted, not parsed
    check("events.dlq holds exactly the %d injected invalid events" % invalid, len(dlq) == invalid,
          "got %d" % len(dlq))
    check("DLQ records are the injected ones (ids ending -bad)", all(i and i.endswith("-bad") for i in bad_ids))
    reasons = collections.Counter(h.get("__streamscore.errors.reason") for _, _, h in dlq)
    check("every DLQ record carries a reason header (%s)" % dict(reasons), None not in reasons)
    # each injected kind is rejected for its own reason (libs/events reason codes)
    kind_reason = {"malformed": "invalid_json", "missing_field": "missing_field", "wrong_type": "wrong_type",
                   "bad_enum": "bad_enum", "negative_amount": "out_of_range", "not_object": "not_an_object",
                   "avro_truncated": "truncated_avro", "avro_unknown_schema": "unknown_schema"}
    want = collections.Counter()
    for kind, n in lg["invalid"].items():
        if kind != "total":
            want[kind_reason.get(kind, kind)] += n
    check("DLQ reasons match the injected kinds", reasons == want, "want %s" % dict(want))

    drift = [decode(v, schemas) for _, v, _ in t["monitoring.drift"]]
    windows = collections.defaultdict(list)
    for d in drift:
        windows[(d["window_start"], d["window_end"])].append(d)
    spans = sorted(windows)
    check("drift results were produced (%d windows)" % len(spans), len(spans) >= 1)
    check("every drift window has an overall status",
          all(any(d["feature"] == "__overall__" for d in windows[w]) for w in spans))
    bundle = json.load(open(os.path.join(run, "models", "card-fraud", summary["model_version"], "bundle.json")))
    wanted = set(bundle["features"]) | {"__score__"}
    uncovered = [w for w in spans if not wanted <= {d["feature"] for d in windows[w]}]
    check("every drift window reports every model feature and the score", not uncovered,
          "%d windows miss some" % len(uncovered))
    check("drift windows are contiguous", all(a[1] <= b[0] for a, b in zip(spans, spans[1:])))
    check("drift windows account for every scored event",
          sum(max(d["window_events"] for d in windows[w]) for w in spans) >= len(primary) * 0.99)

    labels = [decode(v, schemas) for _, v, _ in t["labels"]]
    check("labels: one per valid event", len(labels) == lg["labels"] == valid)
    check("labelled fraud matches loadgen", sum(l["label"] for l in labels) == lg["fraud"])

    counts = {k: len(v) for k, v in t.items()}
    check("summary topic counts equal the topics", all(summary["topics"].get(k) == n for k, n in counts.items()),
          "summary %s vs topics %s" % (summary["topics"], counts))
    dec = collections.Counter(s["decision"] for s in scores if s["role"] == "PRIMARY")
    check("summary decisions equal the scores topic",
          all(int(summary["decisions"][k]) == dec.get(k, 0) for k in ("APPROVE", "REVIEW", "DECLINE")),
          "summary %s vs topic %s" % (summary["decisions"], dict(dec)))
    check("every summary check passed", all(summary["checks"].values()), summary["checks"])
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
