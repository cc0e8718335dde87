#!/usr/bin/python3
"""Fixtures for the drift service's integration test and benchmark.

  bundle  STORE NAME VERSION NFEATURES   bundle.json with a baseline for
          features f00.. ~ N(10, 2), category "channel", and the score
  records DIR NFEATURES N START [--shift-feature fNN] [--score-shift X] [--labels]
          DIR/{features,scores,labels}.frames: key/value frames
          (4-byte BE length + bytes each) of Confluent-framed Avro records,
          encoded with python3-avro (independent of libs/common)
  decode  FILE   monitoring.drift frames -> one JSON object per line
"""
import io
import json
import os
import struct
import sys

import avro.io
import avro.schema
import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__)) + "/../../.."
SCHEMAS = os.environ.get("SCHEMA_DIR", ROOT + "/schemas")
CHANNELS = ["POS", "ECOM", "ATM", "MOTO"]
CHANNEL_P = [0.6, 0.35, 0.04, 0.01]


def schema(file):
    ids = json.load(open(SCHEMAS + "/ids.json"))
    sid = [s["id"] for s in ids["schemas"] if s["file"] == file][0]
    # timestamp-millis longs travel as plain longs here (same binary encoding)
    text = open(SCHEMAS + "/" + file).read().replace('"logicalType": "timestamp-millis"', '"doc2": "ms"')
    return sid, avro.schema.parse(text)


def encode(sid, sch, datum):
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">I", sid))
    avro.io.DatumWriter(sch).write(datum, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def frame(out, b):
    out.write(struct.pack(">I", len(b)) + b)


def score_sample(rng, n, shift=0.0):
    tail = rng.uniform(0, 1, n) < 0.03
    s = np.where(tail, 0.5 + 0.5 * rng.uniform(0, 1, n), 0.02 + 0.1 * rng.uniform(0, 1, n) * rng.uniform(0, 1, n))
    return np.minimum(1.0, s + shift)


def numeric_baseline(v, rng):
    edges = np.unique(np.quantile(v, np.linspace(0, 1, 11)))
    counts, _ = np.histogram(v, bins=edges)
    return {"type": "numeric", "edges": [float(e) for e in edges], "freqs": [float(c) for c in counts / counts.sum()],
            "mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max()),
            "null_rate": 0.0, "sample": [float(x) for x in rng.choice(v, 1000, replace=False)]}


def cmd_bundle(store, name, version, nfeat):
    rng = np.random.default_rng(11)
    rows = 50000
    feats = {f"f{i:02d}": numeric_baseline(10 + 2 * rng.normal(0, 1, rows), rng) for i in range(int(nfeat))}
    feats["channel"] = {"type": "categorical", "freqs": dict(zip(CHANNELS, CHANNEL_P)), "null_rate": 0.0}
    bundle = {"format": "streamscore.bundle/v1", "name": name, "version": version, "kind": "logistic",
              "logistic": {"intercept": -3.0, "weights": [0.0] * int(nfeat)},
              "features": [f"f{i:02d}" for i in range(int(nfeat))],
              "thresholds": {"review": 0.5, "decline": 0.9}, "top_reasons": 3,
              "baseline": {"rows": rows, "features": feats, "score": numeric_baseline(score_sample(rng, rows), rng)},
              "training": {"created_at": "2026-11-24T10:00:00Z", "seed": 11}}
    d = f"{store}/{name}/{version}"
    os.makedirs(d, exist_ok=True)
    json.dump(bundle, open(d + "/bundle.json", "w"))


def cmd_records(outdir, nfeat, n, start, args):
    nfeat, n, start = int(nfeat), int(n), int(start)
    shift_feature = args[args.index("--shift-feature") + 1] if "--shift-feature" in args else None
    score_shift = float(args[args.index("--score-shift") + 1]) if "--score-shift" in args else 0.0
    version = args[args.index("--version") + 1] if "--version" in args else "v1"
    labels = "--labels" in args
    rng = np.random.default_rng(1000 + start)
    fsid, fs = schema("feature_vector.avsc")
    ssid, ss = schema("score.avsc")
    lsid, ls = schema("label.avsc")
    scores = score_sample(rng, n, score_shift)
    with open(outdir + "/features.frames", "wb") as fo, open(outdir + "/scores.frames", "wb") as so, \
            open(outdir + "/labels.frames", "wb") as lo:
        for k in range(n):
            i = start + k
            eid, card = f"ev{i}", f"card-{i % 97}"
            feats = {}
            for j in range(nfeat):
                name = f"f{j:02d}"
                feats[name] = float(10 + 2 * (rng.normal() + (1.0 if name == shift_feature else 0.0)))
            fv = {"event_id": eid, "event_time": 1_700_000_000_000 + i, "entity_id": card, "entities": {"card": card},
                  "features": feats, "categories": {"channel": str(rng.choice(CHANNELS, p=CHANNEL_P))},
                  "definitions_version": "test", "late": False, "computed_at": 1_700_000_000_000 + i}
            frame(fo, card.encode())
            frame(fo, encode(fsid, fs, fv))
            sc = {"event_id": eid, "entity_id": card, "event_time": 1_700_000_000_000 + i, "model_name": "card-fraud",
                  "model_version": version, "role": "PRIMARY", "score": float(scores[k]),
                  "decision": "REVIEW" if scores[k] >= 0.5 else "APPROVE", "reasons": [],
                  "scored_at": 1_700_000_000_000 + i}
            frame(so, card.encode())
            frame(so, encode(ssid, ss, sc))
            if labels and k % 2 == 0:
                lb = {"event_id": eid, "entity_id": card, "label": int(rng.uniform() < scores[k]),
                      "event_time": 1_700_000_000_000 + i, "label_time": 1_700_000_000_000 + i + 3_600_000,
                      "source": "chargeback"}
                frame(lo, card.encode())
                frame(lo, encode(lsid, ls, lb))


def cmd_decode(path):
    sid, sch = schema("drift_result.avsc")
    reader = avro.io.DatumReader(sch)
    data = open(path, "rb").read()
    pos = 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        rec = data[pos + 4:pos + 4 + n]
        pos += 4 + n
        assert rec[0] == 0, "bad magic"
        (wid,) = struct.unpack(">I", rec[1:5])
        assert wid == sid, f"schema id {wid}, expected {sid}"
        print(json.dumps(reader.read(avro.io.BinaryDecoder(io.BytesIO(rec[5:])))))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "bundle":
        cmd_bundle(*args[:4])
    elif cmd == "records":
        cmd_records(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "decode":
        cmd_decode(args[0])
    else:
        sys.exit(f"unknown command {cmd}")
