#!/usr/bin/python3
"""Valid card transactions for the ingest tests, and the canonical form ingest
must turn them into.

  events_py.py gen N SEED PREFIX [--no-optional]   JSON events (some RFC 3339 times,
                                                    some optional fields absent)
  events_py.py canonical < events.jsonl             the canonical JSON (times in millis,
                                                    absent optionals null)
  events_py.py avro SCHEMA ID < events.jsonl        Confluent-framed Avro by python3-avro,
                                                    one hex line each
  events_py.py same EXPECTED GOT                    field-for-field equality by event_id
"""
import datetime
import io
import json
import random
import struct
import sys
import time

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
OPTIONAL = ("device_id", "card_country", "auth_result", "latitude", "longitude", "ip_address")


def gen(n, seed, prefix, optional=True):
    rnd = random.Random(seed)
    now = int(time.time() * 1000)
    for i in range(n):
        t = now - rnd.randint(0, 30 * 86400 * 1000)
        e = {
            "event_id": "%s-%d" % (prefix, i),
            "event_time": t,
            "card_id": "card-%d" % rnd.randint(1, 50),
            "merchant_id": rnd.choice(["m-1", "mérchant-2", "商店-3"]),
            "amount": round(rnd.uniform(0, 5000), 2),
            "currency": rnd.choice(["EUR", "USD", "GBP", "JPY", "CHF"]),
            "merchant_category": rnd.choice(["5411", "5812", "6011"]),
            "merchant_country": rnd.choice(["DE", "US", "GB"]),
            "channel": rnd.choice(["POS", "ECOM", "ATM", "MOTO"]),
        }
        if rnd.random() < 0.3:  # RFC 3339 with an offset
            off = datetime.timezone(datetime.timedelta(hours=rnd.choice([-5, 0, 2])))
            dt = datetime.datetime.fromtimestamp(t / 1000, tz=UTC).astimezone(off)
            e["event_time"] = dt.isoformat(timespec="milliseconds")
        for k in OPTIONAL if optional else ():
            if rnd.random() < 0.5:
                e[k] = {"device_id": "dev-%d" % i, "card_country": "FR",
                        "auth_result": rnd.choice(["APPROVED", "DECLINED"]),
                        "latitude": rnd.uniform(-90, 90), "longitude": rnd.uniform(-180, 180),
                        "ip_address": "198.51.100.%d" % (i % 256)}[k]
            elif rnd.random() < 0.5:
                e[k] = None
        print(json.dumps(e, ensure_ascii=False))


def canonical(e):
    c = dict(e)
    if isinstance(c["event_time"], str):
        dt = datetime.datetime.fromisoformat(c["event_time"])
        c["event_time"] = (dt - EPOCH) // datetime.timedelta(milliseconds=1)
    for k in OPTIONAL:
        c.setdefault(k, None)
    c["amount"] = float(c["amount"])
    return c


def avro_encode(schema_path, sid):
    import avro.io
    import avro.schema
    s = avro.schema.parse(open(schema_path).read())
    names = {f.name for f in s.fields}
    w = avro.io.DatumWriter(s)
    for line in sys.stdin:
        c = canonical(json.loads(line))
        c["event_time"] = EPOCH + datetime.timedelta(milliseconds=c["event_time"])
        c = {k: v for k, v in c.items() if k in names}
        buf = io.BytesIO()
        buf.write(b"\0" + struct.pack(">i", sid))
        w.write(c, avro.io.BinaryEncoder(buf))
        print(buf.getvalue().hex())


def same(expected_path, got_path):
    exp = {}
    for line in open(expected_path):
        c = canonical(json.loads(line))
        exp[c["event_id"]] = c
    got = {}
    for line in open(got_path):
        g = json.loads(line)
        if g["event_id"] in got:
            sys.exit("event %s appears twice" % g["event_id"])
        got[g["event_id"]] = g
    missing = sorted(set(exp) - set(got))
    if missing:
        sys.exit("%d events missing, e.g. %s" % (len(missing), missing[:3]))
    for k, e in exp.items():
        if e != got[k]:
            diff = [f for f in e if e[f] != got[k].get(f)]
            sys.exit("event %s differs in %s: %r vs %r" % (k, diff, e, got[k]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], "--no-optional" not in sys.argv)
    elif cmd == "canonical":
        for line in sys.stdin:
            print(json.dumps(canonical(json.loads(line)), ensure_ascii=False))
    elif cmd == "avro":
        avro_encode(sys.argv[2], int(sys.argv[3]))
    elif cmd == "same":
        same(sys.argv[2], sys.argv[3])
