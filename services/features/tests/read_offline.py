#!/usr/bin/python3
"""Read an offline store with python3-avro (an independent Avro implementation).

usage: read_offline.py DIR [KIND]
Prints one JSON object per record: {"file": relative path, "record": {...}},
sorted by file then position. Exits 1 if a half-written file (*.avro.tmp)
would be visible to a reader that lists *.avro files only (it never is) or if
any .avro file fails to read.
"""
import json
import os
import sys

from avro.datafile import DataFileReader
from avro.io import DatumReader


def main():
    root = sys.argv[1]
    kind = sys.argv[2] if len(sys.argv) > 2 else "features"
    base = os.path.join(root, kind)
    for dirpath, _, files in sorted(os.walk(base)):
        for name in sorted(files):
            if not name.endswith(".avro"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                reader = DataFileReader(f, DatumReader())
                for rec in reader:
                    print(json.dumps({"file": os.path.relpath(path, root), "record": rec},
                                     sort_keys=True))
                reader.close()


if __name__ == "__main__":
    main()
