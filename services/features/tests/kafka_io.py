#!/usr/bin/python3
"""Kafka side of the features service tests, with independent implementations
(python3-confluent-kafka, python3-avro) of the wire format:
Confluent framing (0x00, 4-byte big-endian schema id) + Avro binary.

  kafka_io.py events BROKERS TOPIC N SEED PREFIX OUT.jsonl   produce N card events
  kafka_io.py replay BROKERS TOPIC IN.jsonl COUNT            re-produce the first COUNT events of IN
  kafka_io.py labels BROKERS TOPIC IN.jsonl COUNT            produce labels for the first COUNT events
  kafka_io.py garbage BROKERS TOPIC TEXT                      produce one undecodable message
  kafka_io.py headers BROKERS TOPIC TIMEOUT_S                print the headers of the first message
  kafka_io.py consume BROKERS TOPIC SCHEMA N TIMEOUT_S OUT.jsonl [records|distinct]
      read TOPIC from the beginning until N records / N distinct event ids (or timeout);
      writes {"key", "record"} lines, prints the number of records
"""
import io
import json
import os
import random
import struct
import sys
import time
import uuid

import avro.io
import avro.schema
from confluent_kafka import Consumer, Producer

ROOT = os.path.dirname(os.path.abspath(__file__)) + "/../../.."


def plain(node):
    """The schema without logical types: the same bytes, timestamps as ints."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def schema(stem):
    with open(os.path.join(ROOT, "schemas", stem + ".avsc")) as f:
        parsed = avro.schema.parse(json.dumps(plain(json.load(f))))
    with open(os.path.join(ROOT, "schemas", "ids.json")) as f:
        ids = json.load(f)["schemas"]
    sid = [s["id"] for s in ids if s["file"] == stem + ".avsc"][0]
    return parsed, sid


def encode(parsed, sid, rec):
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">I", sid))
    avro.io.DatumWriter(parsed).write(rec, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def decode(parsed, data):
    assert data[0] == 0, "bad magic"
    return avro.io.DatumReader(parsed).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))


def producer(brokers):
    return Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "linger.ms": 5})


def send_all(brokers, topic, items):
    p = producer(brokers)
    failed = []
    for key, value in items:
        while True:
            try:
                p.produce(topic, key=key.encode(), value=value,
                          on_delivery=lambda err, msg: err and failed.append(err))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(30)
    if left or failed:
        sys.exit("produce failed: %d unflushed, %s" % (left, failed[:3]))


def make_events(n, seed, prefix):
    rnd = random.Random(seed)
    t = 1795500000000
    out = []
    for i in range(n):
        t += rnd.randrange(0, 20000)
        out.append({
            "event_id": "%s-%d" % (prefix, i),
            "event_time": t - (rnd.randrange(0, 60000) if rnd.random() < 0.2 else 0),
            "card_id": "card%d" % rnd.randrange(20),
            "merchant_id": "m%d" % rnd.randrange(10),
            "device_id": None if rnd.random() < 0.3 else "dev%d" % rnd.randrange(15),
            "amount": round(rnd.uniform(1, 900), 2),
            "currency": "EUR",
            "merchant_category": rnd.choice(["5411", "5812", "5999"]),
            "merchant_country": rnd.choice(["FR", "DE", "NL"]),
            "card_country": "FR",
            "channel": rnd.choice(["POS", "ECOM", "ATM", "MOTO"]),
            "auth_result": rnd.choice([None, "APPROVED", "APPROVED", "DECLINED"]),
            "latitude": None, "longitude": None, "ip_address": None,
        })
    return out


def cmd_events(brokers, topic, n, seed, prefix, out_path):
    parsed, sid = schema("card_transaction")
    events = make_events(int(n), int(seed), prefix)
    send_all(brokers, topic, [(e["card_id"], encode(parsed, sid, e)) for e in events])
    with open(out_path, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    print(len(events))


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_replay(brokers, topic, in_path, count):
    parsed, sid = schema("card_transaction")
    events = load_jsonl(in_path)[: int(count)]
    send_all(brokers, topic, [(e["card_id"], encode(parsed, sid, e)) for e in events])
    print(len(events))


def cmd_labels(brokers, topic, in_path, count):
    parsed, sid = schema("label")
    events = load_jsonl(in_path)[: int(count)]
    labels = [{"event_id": e["event_id"], "entity_id": e["card_id"], "label": i % 2,
               "event_time": e["event_time"], "label_time": e["event_time"] + 86400000,
               "source": "test"} for i, e in enumerate(events)]
    send_all(brokers, topic, [(l["entity_id"], encode(parsed, sid, l)) for l in labels])
    print(len(labels))


def cmd_consume(brokers, topic, stem, n, timeout_s, out_path, mode="records"):
    """mode "records": stop at N records; "distinct": at N distinct event ids
    once nothing new arrived for 2 s (duplicates may follow)."""
    parsed, _ = schema(stem)
    c = Consumer({"bootstrap.servers": brokers, "group.id": "test-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    records, ids, last = [], set(), time.time()
    deadline = time.time() + float(timeout_s)
    while time.time() < deadline:
        if mode == "records" and len(records) >= int(n):
            break
        if mode == "distinct" and len(ids) >= int(n) and time.time() - last > 2:
            break
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        last = time.time()
        rec = decode(parsed, m.value())
        ids.add(rec["event_id"])
        records.append({"key": m.key().decode() if m.key() else None, "record": rec})
    c.close()
    with open(out_path, "w") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    print(len(records))


def cmd_garbage(brokers, topic, text):
    send_all(brokers, topic, [("junk", text.encode())])


def cmd_headers(brokers, topic, timeout_s):
    c = Consumer({"bootstrap.servers": brokers, "group.id": "test-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    deadline = time.time() + float(timeout_s)
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        print(json.dumps({k: v.decode() for k, v in (m.headers() or [])}, sort_keys=True))
        print(json.dumps({"value": m.value().decode(errors="replace")}))
        break
    c.close()


if __name__ == "__main__":
    cmds = {"events": cmd_events, "replay": cmd_replay, "labels": cmd_labels,
            "consume": cmd_consume, "garbage": cmd_garbage, "headers": cmd_headers}
    cmds[sys.argv[1]](*sys.argv[2:])
