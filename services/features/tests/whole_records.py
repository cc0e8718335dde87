#!/usr/bin/python3
"""How many records of crashed part files a reader can still get back.

usage: whole_records.py FILE...          prints the total
       whole_records.py --every-cut FILE  prints, for k = 0 .. size, the count
                                          for FILE cut after k bytes A part file killed mid-write is an Avro object container
cut at any byte: its header is read with python3-avro (an independent
implementation), then its blocks are walked by their framing (count, byte
size, data, 16-byte sync marker). A block counts when all its data bytes are
present, even if the sync marker after it was cut; the walk stops at the
first cut block or at a sync marker that does not match. A file whose header
is cut counts 0. Being written in 4 KiB stdio chunks, a file can be well past
its header and still hold no whole block, which is why the crash test asks
this instead of looking at file sizes.
"""
import io
import sys

import avro.datafile
import avro.io


def varint(data, p):
    shift = value = 0
    while True:
        if p >= len(data):
            raise EOFError
        b = data[p]
        p += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), p


def whole_records(path):
    with open(path, "rb") as f:
        return whole_in(f.read())


def whole_in(data):
    try:
        reader = avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader())
        sync = reader.sync_marker
        pos = reader.reader.tell()  # just past the header and its sync marker
    except Exception:
        return 0
    n = 0
    while True:
        try:
            count, p = varint(data, pos)
            size, p = varint(data, p)
        except EOFError:
            return n
        end = p + size
        if end > len(data):
            return n
        n += count
        if data[end:end + 16] != sync:
            return n
        pos = end + 16


if __name__ == "__main__":
    if sys.argv[1:2] == ["--every-cut"]:
        with open(sys.argv[2], "rb") as f:
            data = f.read()
        print(" ".join(str(whole_in(data[:k])) for k in range(len(data) + 1)))
    else:
        print(sum(whole_records(p) for p in sys.argv[1:]))
