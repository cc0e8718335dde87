#!/usr/bin/python3
"""A small Confluent-Schema-Registry-compatible server for tests.

Implements the subset of the REST API the project uses (the real registry is
not available in this environment):
  POST /subjects/<subject>/versions      {"schema": "..."} -> {"id": N}
  GET  /schemas/ids/<id>                 -> {"schema": "..."} or 404 (40403)
  GET  /subjects                         -> ["subject", ...]
  GET  /subjects/<subject>/versions      -> [1, 2, ...]
  GET  /subjects/<subject>/versions/<v>  -> {"subject","version","id","schema"} (v may be "latest")
Ids are global and start at --first-id (default 1001, so they never collide
with the local registry's ids); registering an equal schema (same parsed JSON)
again returns the existing id, as Confluent does.

usage: fake_schema_registry.py --port-file FILE [--port 0] [--first-id N] [--state FILE]
"""
import argparse
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CTYPE = "application/vnd.schemaregistry.v1+json"


class Registry:
    def __init__(self, first_id, state=None):
        self.lock = threading.Lock()
        self.next_id = first_id
        self.schemas = {}   # id -> schema text
        self.subjects = {}  # subject -> [id, ...] (version = index + 1)
        self.state = state
        if state and os.path.exists(state):
            with open(state) as f:
                d = json.load(f)
            self.next_id = d["next_id"]
            self.schemas = {int(k): v for k, v in d["schemas"].items()}
            self.subjects = d["subjects"]

    def save(self):
        if self.state:
            with open(self.state + ".tmp", "w") as f:
                json.dump({"next_id": self.next_id, "schemas": self.schemas,
                           "subjects": self.subjects}, f)
            os.rename(self.state + ".tmp", self.state)

    def register(self, subject, text):
        parsed = json.loads(text)
        with self.lock:
            for sid, other in self.schemas.items():
                if json.loads(other) == parsed:
                    break
            else:
                sid = self.next_id
                self.next_id += 1
                self.schemas[sid] = text
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            self.save()
            return sid


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    registry = None

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-sr: %s\n" % (fmt % args))
        sys.stderr.flush()

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CTYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, code, msg):
        self.reply(404, {"error_code": code, "message": msg})

    def do_POST(self):
        m = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not m:
            return self.not_found(404, "not found")
        try:
            req = json.loads(body)
            text = req["schema"]
            json.loads(text)
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(422, {"error_code": 42201, "message": "invalid schema: %s" % e})
        self.reply(200, {"id": self.registry.register(m.group(1), text)})

    def do_GET(self):
        r = self.registry
        m = re.fullmatch(r"/schemas/ids/(-?\d+)", self.path)
        if m:
            text = r.schemas.get(int(m.group(1)))
            if text is None:
                return self.not_found(40403, "Schema %s not found" % m.group(1))
            return self.reply(200, {"schema": text})
        if self.path == "/subjects":
            return self.reply(200, sorted(r.subjects))
        m = re.fullmatch(r"/subjects/([^/]+)/versions(?:/([^/]+))?", self.path)
        if m:
            versions = r.subjects.get(m.group(1))
            if versions is None:
                return self.not_found(40401, "Subject '%s' not found." % m.group(1))
            if m.group(2) is None:
                return self.reply(200, list(range(1, len(versions) + 1)))
            v = len(versions) if m.group(2) == "latest" else int(m.group(2))
            if not 1 <= v <= len(versions):
                return self.not_found(40402, "Version %s not found." % m.group(2))
            sid = versions[v - 1]
            return self.reply(200, {"subject": m.group(1), "version": v, "id": sid,
                                    "schema": r.schemas[sid]})
        self.not_found(404, "not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--first-id", type=int, default=1001)
    ap.add_argument("--state", help="keep registrations in this file across restarts")
    args = ap.parse_args()
    Handler.registry = Registry(args.first_id, args.state)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
