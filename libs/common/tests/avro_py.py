#!/usr/bin/python3
"""The independent side of the Avro interop tests: Debian's python3-avro.

  avro_py.py gen SCHEMA.avsc N SEED        N random valid records as JSON lines
  avro_py.py encode SCHEMA.avsc ID         JSON lines -> Confluent-framed hex lines
  avro_py.py decode SCHEMA.avsc            Confluent-framed hex lines -> JSON lines
  avro_py.py compare A.jsonl B.jsonl       field-for-field equality, 0 if equal

JSON follows the project's convention (libs/common ss_avro_to_json): unions
unwrapped, bytes/fixed as strings of code points U+0000..U+00FF, timestamps
as epoch milliseconds.
"""
import datetime
import io
import json
import random
import struct
import sys

import avro.io
import avro.schema

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)


def load(path):
    with open(path) as f:
        return avro.schema.parse(f.read())


def logical(s):
    return s.get_prop("logicalType") if hasattr(s, "get_prop") else None


def to_avro(s, v):
    """project JSON -> python-avro datum"""
    t = s.type
    if t == "union":
        for b in s.schemas:
            if v is None and b.type == "null":
                return None
        for b in s.schemas:
            if v is not None and b.type != "null":
                try:
                    d = to_avro(b, v)
                    if avro.io.validate(b, d):
                        return d
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
        raise ValueError("no union branch for %r" % (v,))
    if t == "record":
        return {f.name: to_avro(f.type, v.get(f.name)) for f in s.fields}
    if t == "array":
        return [to_avro(s.items, x) for x in v]
    if t == "map":
        return {k: to_avro(s.values, x) for k, x in v.items()}
    if t in ("bytes", "fixed"):
        return v.encode("latin-1")
    if t == "long" and logical(s) == "timestamp-millis":
        return EPOCH + v * MS
    if t in ("double", "float"):
        return float(v)
    return v


def to_json(v):
    """python-avro datum -> project JSON"""
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // MS
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    return v


WORDS = ["", "a", "card-%d", "zürich", "€uro", "日本", "emoji 😀", "tab\tquote\"", "x" * 40]


def gen(s, rnd, depth=0):
    t = s.type
    if t == "record":
        return {f.name: gen(f.type, rnd, depth + 1) for f in s.fields}
    if t == "union":
        return gen(rnd.choice(s.schemas), rnd, depth + 1)
    if t == "null":
        return None
    if t == "boolean":
        return rnd.random() < 0.5
    if t == "int":
        return rnd.choice([0, 1, -1, 2**31 - 1, -2**31, rnd.randint(-1000, 1000)])
    if t == "long":
        if logical(s) == "timestamp-millis":
            return rnd.randint(0, 4102444800000)
        return rnd.choice([0, -1, 2**63 - 1, -2**63, rnd.randint(-2**40, 2**40)])
    if t in ("double", "float"):
        x = rnd.choice([0.0, -0.5, 1e-300, 1.7976931348623157e308, rnd.uniform(-1e6, 1e6)])
        return struct.unpack("f", struct.pack("f", x))[0] if t == "float" and abs(x) < 3e38 else (x if t == "double" else 0.25)
    if t == "string":
        w = rnd.choice(WORDS)
        return w % rnd.randint(0, 10**6) if "%d" in w else w
    if t == "bytes":
        return "".join(chr(rnd.randint(0, 255)) for _ in range(rnd.randint(0, 8)))
    if t == "fixed":
        return "".join(chr(rnd.randint(0, 255)) for _ in range(s.size))
    if t == "enum":
        return rnd.choice(s.symbols)
    if t == "array":
        return [gen(s.items, rnd, depth + 1) for _ in range(rnd.randint(0, 3 if depth < 4 else 0))]
    if t == "map":
        return {"k%d" % i: gen(s.values, rnd, depth + 1) for i in range(rnd.randint(0, 3 if depth < 4 else 0))}
    raise ValueError("unsupported type %s" % t)


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        s, n, seed = load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        rnd = random.Random(seed)
        for _ in range(n):
            print(json.dumps(gen(s, rnd), ensure_ascii=False))
    elif cmd == "encode":
        s, sid = load(sys.argv[2]), int(sys.argv[3])
        writer = avro.io.DatumWriter(s)
        for line in sys.stdin:
            if not line.strip():
                continue
            buf = io.BytesIO()
            buf.write(b"\0" + struct.pack(">i", sid))
            writer.write(to_avro(s, json.loads(line)), avro.io.BinaryEncoder(buf))
            print(buf.getvalue().hex())
    elif cmd == "decode":
        s = load(sys.argv[2])
        reader = avro.io.DatumReader(s)
        for line in sys.stdin:
            raw = bytes.fromhex(line.strip())
            if raw[0] != 0:
                sys.exit("wrong magic byte %d" % raw[0])
            dec = avro.io.BinaryDecoder(io.BytesIO(raw[5:]))
            print(json.dumps(to_json(reader.read(dec)), ensure_ascii=False))
    elif cmd == "compare":
        with open(sys.argv[2]) as fa, open(sys.argv[3]) as fb:
            a = [json.loads(x) for x in fa if x.strip()]
            b = [json.loads(x) for x in fb if x.strip()]
        if len(a) != len(b):
            sys.exit("record count differs: %d vs %d" % (len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                keys = sorted(set(x) | set(y)) if isinstance(x, dict) and isinstance(y, dict) else []
                diff = [k for k in keys if x.get(k) != y.get(k)]
                sys.exit("record %d differs in %s: %r vs %r" % (i + 1, diff, x, y))
    else:
        sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
