#!/usr/bin/python3
"""Kafka-side driver for the scorer integration tests (python3-confluent-kafka,
python3-avro, python3-xgboost). Prints TAP lines ("ok - ..." / "not ok - ...").

  scorer_driver.py hotswap --brokers B --scorer BIN --store S --name N --schemas DIR
      Produce feature vectors to features.enriched at a steady rate while the
      active version is promoted (v2), rolled back (v1) and promoted again,
      with shadow v3 set; then read every score back and check: exactly one
      PRIMARY per event, its version one of v1/v2, both seen, each score equal
      to XGBoost's own prediction for the version it names, decisions from the
      thresholds; exactly one SHADOW (v3) per event.

  scorer_driver.py e2e --brokers B --url SCORER_HTTP --schemas DIR --n N
      Event by event: POST /v1/score, then the same event through events.raw ->
      streamscore-features -> scorer; the stream's PRIMARY score must equal
      the synchronous one (same state: the sync call precedes the update).

  scorer_driver.py produce --brokers B --schemas DIR --n N --rate R --prefix P
                   [--schema-file F --schema-id ID]
  scorer_driver.py collect --brokers B --schemas DIR --n N --prefix P [--timeout S]
      Produce vectors P-0..P-(N-1); check each got a PRIMARY score and that
      redelivered duplicates agree.

  scorer_driver.py score-of --brokers B --schemas DIR --event-id ID [--timeout S]
      Print the PRIMARY score record of one event as JSON.

  scorer_driver.py produce-raw --brokers B --schemas DIR --json EVENT
      Produce one CardTransaction (Avro, Confluent framing) to events.raw.
"""
import argparse
import datetime
import io
import json
import math
import os
import struct
import subprocess
import sys
import time

import avro.io
import avro.schema
import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bundles  # noqa: E402

FAILS = 0


def tap(cond, desc):
    global FAILS
    if cond:
        print("ok - " + desc)
    else:
        FAILS += 1
        print("not ok - " + desc)
    sys.stdout.flush()


class Codec:
    def __init__(self, schemas, fname, schema_file=None, schema_id=None):
        ids = json.load(open(os.path.join(schemas, "ids.json")))["schemas"]
        self.id = schema_id if schema_id is not None else next(
            s["id"] for s in ids if s["file"] == fname)
        self.schema = avro.schema.parse(open(schema_file or os.path.join(schemas, fname)).read())
        self.writer = avro.io.DatumWriter(self.schema)
        self.reader = avro.io.DatumReader(self.schema)

    def encode(self, datum):
        buf = io.BytesIO()
        buf.write(b"\x00" + struct.pack(">I", self.id))
        self.writer.write(datum, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    def decode(self, data):
        assert data[0] == 0, "bad magic"
        return self.reader.read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))


def vectors(n, seed):
    rng = np.random.default_rng(seed)
    X, _ = make_bundles.training_data(rng, n)
    out = []
    for i in range(n):
        feats = {}
        for j, name in enumerate(make_bundles.FEATURES):
            v = X[i, j]
            if j == 6 and i % 7 == 0:
                continue  # absent from the map: scored as missing
            feats[name] = None if math.isnan(v) else float(v)
        out.append(feats)
    return X, out


def ms_time(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def fv_record(eid, entity, feats, now):
    now = ms_time(now)
    return {
        "event_id": eid, "event_time": now, "entity_id": entity,
        "entities": {"card": entity}, "features": feats, "categories": {"channel": "ECOM"},
        "definitions_version": "test", "late": False, "computed_at": now,
    }


def consume_scores(brokers, schemas, want, timeout, pred):
    """Read the scores topic from the start until pred(records) or timeout."""
    codec = Codec(schemas, "score.avsc")
    c = Consumer({"bootstrap.servers": brokers, "group.id": "driver-%d" % os.getpid(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([want])
    recs = []
    end = time.time() + timeout
    while time.time() < end and not pred(recs):
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        r = codec.decode(m.value())
        r["_key"] = m.key().decode() if m.key() else None
        recs.append(r)
    c.close()
    return recs


def predict_xgb(store, name, version, X):
    import xgboost as xgb
    b = xgb.Booster()
    b.load_model(os.path.join(store, name, version, "model.json"))
    return b.predict(xgb.DMatrix(X)).astype(np.float64)


def hotswap(a):
    n = a.n
    X, feats = vectors(n, 5)
    X = X.copy()
    for i in range(n):
        if i % 7 == 0:
            X[i, 6] = np.nan
    fv = Codec(a.schemas, "feature_vector.avsc")
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True, "linger.ms": 5})
    env = dict(os.environ, MODEL_STORE=a.store, MODEL_NAME=a.name)

    def cli(*args):
        r = subprocess.run([a.scorer] + list(args), env=env, capture_output=True, text=True)
        tap(r.returncode == 0, "cli %s: %s" % (" ".join(args), (r.stdout + r.stderr).strip()))

    steps = {n // 4: ("promote", "v2"), n // 2: ("rollback",), 3 * n // 4: ("promote", "v2")}
    t0 = time.time()
    for i in range(n):
        if i in steps:
            p.flush()
            cli(*steps[i])
        now = int(time.time() * 1000)
        eid = "hs-%d" % i
        ent = "card-%d" % (i % 50)
        p.produce(a.topic, key=ent, value=fv.encode(fv_record(eid, ent, feats[i], now)))
        p.poll(0)
        delay = t0 + (i + 1) / a.rate - time.time()
        if delay > 0:
            time.sleep(delay)
    p.flush()
    ids = {"hs-%d" % i for i in range(n)}

    def complete(recs):
        prim = {r["event_id"] for r in recs if r["role"] == "PRIMARY"}
        sh = {r["event_id"] for r in recs if r["role"] == "SHADOW"}
        return ids <= prim and ids <= sh

    recs = consume_scores(a.brokers, a.schemas, "scores", a.timeout, complete)
    recs = [r for r in recs if r["event_id"] in ids]
    prim = [r for r in recs if r["role"] == "PRIMARY"]
    shadow = [r for r in recs if r["role"] == "SHADOW"]
    by_id = {}
    for r in prim:
        by_id.setdefault(r["event_id"], []).append(r)
    tap(set(by_id) == ids, "every event got a PRIMARY score (%d of %d)" % (len(by_id), n))
    dup = [k for k, v in by_id.items() if len(v) != 1]
    tap(not dup, "exactly one PRIMARY score per event (%d duplicated)" % len(dup))
    versions = {r["model_version"] for r in prim}
    tap(versions <= {"v1", "v2"}, "PRIMARY versions are v1/v2: %s" % sorted(versions))
    tap(versions == {"v1", "v2"}, "both versions served during the swaps")
    # the version switched in order: v1 ... v2 ... v1 ... v2 over the event sequence
    seq = [by_id["hs-%d" % i][0]["model_version"] for i in range(n) if "hs-%d" % i in by_id]
    changes = sum(1 for i in range(1, len(seq)) if seq[i] != seq[i - 1])
    tap(changes >= 3, "active version changed at least 3 times along the stream (%d)" % changes)
    tap(all(r["_key"] == r["entity_id"] for r in prim), "scores keyed by entity")

    preds = {v: predict_xgb(a.store, a.name, v, X) for v in ("v1", "v2")}
    worst = 0.0
    bad_decision = 0
    for i in range(n):
        for r in by_id.get("hs-%d" % i, []):
            worst = max(worst, abs(r["score"] - preds[r["model_version"]][i]))
            want = "DECLINE" if r["score"] >= 0.7 else "REVIEW" if r["score"] >= 0.3 else "APPROVE"
            bad_decision += r["decision"] != want
    tap(worst <= 1e-6, "each PRIMARY score equals xgboost's prediction by the named version "
        "(max diff %.3g)" % worst)
    tap(bad_decision == 0, "decisions follow the thresholds (%d wrong)" % bad_decision)
    tap(all(len(r["reasons"]) <= 3 for r in prim) and any(r["reasons"] for r in prim),
        "top reasons present, at most top_reasons")
    sh_ids = {}
    for r in shadow:
        sh_ids.setdefault(r["event_id"], []).append(r)
    tap(set(sh_ids) == ids and all(len(v) == 1 for v in sh_ids.values()),
        "exactly one SHADOW score per event (%d events)" % len(sh_ids))
    tap({r["model_version"] for r in shadow} == {"v3"}, "SHADOW scores name v3")
    print("# %d PRIMARY, %d SHADOW, versions %s, %.1f s" % (len(prim), len(shadow), sorted(versions),
                                                         time.time() - t0))


def e2e(a):
    """Event by event: POST /v1/score (features peek on the current state),
    then the same event through events.raw -> features service -> scorer; the
    PRIMARY score on the topic must equal the synchronous one."""
    import urllib.request
    ct = Codec(a.schemas, "card_transaction.avsc")
    sc = Codec(a.schemas, "score.avsc")
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True})
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": "e2e-%d" % os.getpid(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["scores"])
    t = 1764000000000
    channels = ["POS", "ECOM", "ATM", "MOTO"]
    worst, same_reasons, got, scores = 0.0, 0, 0, set()
    for i in range(a.n):
        t += 1000 * (20 + (i * 37) % 300)
        ev = {"event_id": "e2e-%d" % i, "event_time": t, "card_id": "card-e2e-%d" % (i % 2),
              "merchant_id": "m-%d" % (i % 3), "device_id": None if i % 4 == 0 else "d-1",
              "amount": 10.0 + (i * 53) % 700, "currency": "EUR", "merchant_category": "5411",
              "merchant_country": "FR" if i % 5 else "DE", "channel": channels[i % 4],
              "card_country": "FR", "auth_result": "DECLINED" if i % 6 == 5 else "APPROVED",
              "latitude": None, "longitude": None, "ip_address": None}
        req = urllib.request.Request(a.url + "/v1/score", data=json.dumps(ev).encode(),
                                     headers={"Content-Type": "application/json"})
        sync = json.loads(urllib.request.urlopen(req, timeout=10).read())
        rec = dict(ev, event_time=ms_time(t))
        p.produce("events.raw", key=ev["card_id"], value=ct.encode(rec))
        p.flush(10)
        stream = None
        end = time.time() + 30
        while stream is None and time.time() < end:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            r = sc.decode(m.value())
            if r["event_id"] == ev["event_id"] and r["role"] == "PRIMARY":
                stream = r
        if stream is None:
            tap(False, "event %d: no stream score within 30 s" % i)
            continue
        got += 1
        scores.add(round(sync["score"], 12))
        worst = max(worst, abs(sync["score"] - stream["score"]))
        sr = [(x["feature"], round(x["contribution"], 9)) for x in sync["reasons"]]
        tr = [(x["feature"], round(x["contribution"], 9)) for x in stream["reasons"]]
        same = (sync["decision"] == stream["decision"] and sr == tr
                and sync["model_version"] == stream["model_version"])
        same_reasons += same
        if not same or abs(sync["score"] - stream["score"]) > 1e-12:
            print("# event %d: sync %s / stream %s" % (i, json.dumps(sync), stream))
    c.close()
    tap(got == a.n, "every event scored on the stream (%d of %d)" % (got, a.n))
    tap(worst <= 1e-12, "sync and stream scores equal for the same event and state "
        "(max diff %.3g)" % worst)
    tap(same_reasons == got, "same decision, reasons and version on both paths (%d of %d)"
        % (same_reasons, got))
    tap(len(scores) > a.n // 2, "scores vary with the state (%d distinct)" % len(scores))


def produce(a):
    """Produce n feature vectors <prefix>-<i> at a steady rate."""
    _, feats = vectors(a.n, 9)
    fv = Codec(a.schemas, "feature_vector.avsc", a.schema_file, a.schema_id)
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True, "linger.ms": 5})
    t0 = time.time()
    for i in range(a.n):
        ent = "card-%d" % (i % 50)
        rec = fv_record("%s-%d" % (a.prefix, i), ent, feats[i], int(time.time() * 1000))
        p.produce(a.topic, key=ent, value=fv.encode(rec))
        p.poll(0)
        delay = t0 + (i + 1) / a.rate - time.time()
        if delay > 0:
            time.sleep(delay)
    return 0 if p.flush(30) == 0 else 1


def collect(a):
    """Every <prefix>-<i> has a PRIMARY score; redelivered duplicates agree."""
    ids = {"%s-%d" % (a.prefix, i) for i in range(a.n)}
    recs = consume_scores(a.brokers, a.schemas, "scores", a.timeout,
                          lambda rs: ids <= {r["event_id"] for r in rs if r["role"] == "PRIMARY"})
    by_id = {}
    for r in recs:
        if r["role"] == "PRIMARY" and r["event_id"] in ids:
            by_id.setdefault(r["event_id"], []).append(r)
    tap(set(by_id) == ids, "no event lost across the crash: %d of %d have a PRIMARY score"
        % (len(by_id), a.n))
    dups = sum(len(v) - 1 for v in by_id.values())
    agree = all(len({(r["score"], r["model_version"], r["decision"]) for r in v}) == 1
                for v in by_id.values())
    tap(agree, "redelivered events scored identically (%d duplicates)" % dups)
    print("# %d duplicate PRIMARY records after the crash (at-least-once)" % dups)


def score_of(a):
    recs = consume_scores(a.brokers, a.schemas, "scores", a.timeout,
                          lambda rs: any(r["event_id"] == a.event_id and r["role"] == "PRIMARY"
                                         for r in rs))
    for r in recs:
        if r["event_id"] == a.event_id and r["role"] == "PRIMARY":
            print(json.dumps(r))
            return 0
    return 1


def produce_raw(a):
    codec = Codec(a.schemas, "card_transaction.avsc")
    ev = json.loads(a.json)
    ev["event_time"] = ms_time(ev["event_time"])
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True})
    p.produce(a.topic, key=ev["card_id"], value=codec.encode(ev))
    return 0 if p.flush(10) == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--schemas", default="schemas")
    ap.add_argument("--scorer")
    ap.add_argument("--store")
    ap.add_argument("--name", default="card-fraud")
    ap.add_argument("--topic", default=None)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--event-id")
    ap.add_argument("--json")
    ap.add_argument("--url")
    ap.add_argument("--prefix", default="ev")
    ap.add_argument("--schema-file", help="produce: write with this schema (a compatible one)")
    ap.add_argument("--schema-id", type=int, help="produce: frame with this schema id")
    a = ap.parse_args()
    if a.cmd == "hotswap":
        a.topic = a.topic or "features.enriched"
        hotswap(a)
        return 1 if FAILS else 0
    if a.cmd == "produce":
        a.topic = a.topic or "features.enriched"
        return produce(a)
    if a.cmd == "collect":
        collect(a)
        return 1 if FAILS else 0
    if a.cmd == "e2e":
        e2e(a)
        return 1 if FAILS else 0
    if a.cmd == "score-of":
        return score_of(a)
    if a.cmd == "produce-raw":
        a.topic = a.topic or "events.raw"
        return produce_raw(a)
    ap.error("unknown command " + a.cmd)


if __name__ == "__main__":
    sys.exit(main())
