#!/usr/bin/python3
"""Test fixture only: offline-store-shaped FeatureVector Avro files computed in
Python from loadgen JSON lines, for exercising train.py without the features
service. The real pipeline test (tests/test_e2e_demo.sh) trains on the
features service's own offline store."""
import collections, datetime, json, math, sys
import avro.datafile, avro.io, avro.schema

events_path, schema_path, out_path = sys.argv[1:4]
schema = avro.schema.parse(open(schema_path).read())
H, D = 3600000, 86400000
cards = collections.defaultdict(list)   # card -> [(t, amount, device)]
devices = collections.defaultdict(dict) # device -> {card: last t}

def utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)

with open(out_path, "wb") as f:
    w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema)
    for line in open(events_path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if not isinstance(e, dict) or "card_id" not in e or not isinstance(e.get("amount"), float) \
                or e["amount"] < 0 or e.get("channel") not in ("POS", "ECOM", "ATM", "MOTO"):
            continue
        t, c, dev = e["event_time"], e["card_id"], e.get("device_id")
        hist = [h for h in cards[c] if t - h[0] <= 30 * D]
        h1 = [h for h in hist if t - h[0] <= H]
        m10 = [h for h in hist if t - h[0] <= 600000]
        mean30 = sum(h[1] for h in hist) / len(hist) if hist else None
        feats = {
            "amount": e["amount"],
            "card_txn_count_10m": float(len(m10)),
            "card_txn_count_1h": float(len(h1)),
            "card_amount_mean_30d": mean30,
            "card_amount_ratio_30d": e["amount"] / mean30 if mean30 else None,
            "card_seconds_since_last": (t - hist[-1][0]) / 1000.0 if hist else None,
            "card_distinct_devices_1d": float(len({h[2] for h in hist if h[2] and t - h[0] <= D})),
            "device_distinct_cards_1d": float(len([1 for k, lt in devices[dev].items() if t - lt <= D]))
                                        if dev else None,
            "foreign": 1.0 if e["merchant_country"] != e.get("card_country") else 0.0,
        }
        w.append({"event_id": e["event_id"], "event_time": utc(t), "entity_id": c,
                  "entities": {"card": c, "merchant": e["merchant_id"], **({"device": dev} if dev else {})},
                  "features": feats,
                  "categories": {"channel": e["channel"], "merchant_category": e["merchant_category"]},
                  "definitions_version": "fixture-1", "late": False, "computed_at": utc(t)})
        cards[c].append((t, e["amount"], dev))
        if dev:
            devices[dev][c] = t
    w.close()
