#!/usr/bin/python3
"""The bad-input table (libs/events/tests/cases.tsv) as Kafka messages.

  bad_input.py prepare DIR     one file per case (DIR/case-NN.bin) + DIR/manifest.json
  bad_input.py verify DIR DLQ.jsonl RAW_KEYS RAW_EVENTS.jsonl
        DLQ.jsonl: sskafka --format json dump of events.dlq
        RAW_KEYS: the keys of events.raw, one a line; RAW_EVENTS: decoded raw values
Prints one TAP line per case; exits 1 if any case failed.
"""
import json
import os
import subprocess
import sys

CASES = "libs/events/tests/cases.tsv"
BASE = ('{"event_id":"big","event_time":1764000000000,"card_id":"c","merchant_id":"m","amount":1,'
        '"currency":"EUR","merchant_category":"5411","merchant_country":"DE","channel":"POS"}')


def payload(kind, text):
    if kind == "json":
        return text.encode()
    if kind == "hex":
        return bytes.fromhex(text)
    if kind == "big":
        field, n = text.split(":")
        d = json.loads(BASE)
        d[field] = "x" * int(n)
        return json.dumps(d, separators=(",", ":")).encode()
    raise ValueError(kind)


def event_id(data, avrocat):
    if data[:1] == b"\0":
        out = subprocess.run([avrocat, "decode", "card_transaction"], input=data.hex() + "\n",
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)["event_id"]
    return json.loads(data)["event_id"]


def prepare(d):
    cases = []
    with open(CASES) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, expect, field, key, kind, text = line.rstrip("\n").split("\t")
            n = len(cases) + 1
            data = payload(kind, text)
            path = os.path.join(d, "case-%02d.bin" % n)
            with open(path, "wb") as out:
                out.write(data)
            cases.append({"n": n, "name": name, "expect": expect, "field": field,
                          "key": None if key == "-" else "case-%02d" % n, "file": path,
                          "hex": data.hex()})
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(cases, f)
    for c in cases:  # for the shell: key and file per line
        print(c["key"] or "-", c["file"])


def verify(d, dlq_path, raw_keys_path, raw_path, avrocat):
    cases = json.load(open(os.path.join(d, "manifest.json")))
    dlq = [json.loads(l) for l in open(dlq_path) if l.strip()]
    raw = [json.loads(l) for l in open(raw_path) if l.strip()]
    raw_ids = [r["event_id"] for r in raw]
    raw_keys = [l.strip() for l in open(raw_keys_path) if l.strip()]
    failed = 0
    for c in cases:
        mine = [r for r in dlq if r["key"] == c["key"] or (c["key"] is None and r["key"] is None
                                                               and r["value_hex"] == c["hex"])]
        problems = []
        if c["expect"] == "ok":
            eid = event_id(bytes.fromhex(c["hex"]), avrocat)
            if mine:
                problems.append("dead-lettered: %s" % mine[0]["headers"])
            if raw_ids.count(eid) != 1:
                problems.append("event %s is %d times in events.raw" % (eid, raw_ids.count(eid)))
        else:
            if len(mine) != 1:
                problems.append("%d DLQ records" % len(mine))
            else:
                h = mine[0]["headers"]
                if h.get("__streamscore.errors.reason") != c["expect"]:
                    problems.append("reason %s" % h.get("__streamscore.errors.reason"))
                if h.get("__streamscore.errors.field", "") != c["field"]:
                    problems.append("field %r" % h.get("__streamscore.errors.field"))
                if mine[0]["value_hex"] != c["hex"]:
                    problems.append("value changed")
                if h.get("__streamscore.errors.topic") != "events.ingest" or \
                        h.get("__streamscore.errors.service") != "ingest" or \
                        "__streamscore.errors.offset" not in h or \
                        "__streamscore.errors.partition" not in h:
                    problems.append("source headers missing: %s" % h)
        desc = "case %d %s -> %s%s" % (c["n"], c["name"], c["expect"],
                                       "/" + c["field"] if c["field"] else "")
        if problems:
            failed += 1
            print("not ok - %s: %s" % (desc, "; ".join(problems)))
        else:
            print("ok - %s" % desc)
    # every raw record is keyed by its card_id
    bad_keys = [k for k, r in zip(raw_keys, raw) if k != r["card_id"]]
    print(("not ok" if bad_keys else "ok") + " - events.raw keyed by card_id (%d records)" % len(raw))
    return 1 if failed or bad_keys else 0


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        sys.exit(verify(*sys.argv[2:7]))
