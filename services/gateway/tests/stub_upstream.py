#!/usr/bin/python3
"""A stand-in upstream for the gateway's own behaviour tests (relay, path
mapping, timeouts): answers like the scorer / drift service and logs every
request as one JSON line. Not a scorer: scores are canned.
  stub_upstream.py PORT_FILE LOG_FILE [--delay-ms N]"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file = sys.argv[1], sys.argv[2]
delay = int(sys.argv[sys.argv.index("--delay-ms") + 1]) / 1000 if "--delay-ms" in sys.argv else 0


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        with open(log_file, "a") as f:
            f.write(json.dumps({"method": method, "path": self.path, "body": body}) + "\n")
        if delay:
            time.sleep(delay)
        status, out = 200, {}
        if self.path == "/v1/score":
            ev = json.loads(body)
            out = {"event_id": ev["event_id"], "score": 0.25, "decision": "APPROVE",
                   "reasons": [{"feature": "f1", "value": 1.0, "contribution": 0.1}],
                   "model_name": "card-fraud", "model_version": "stub-1", "features": {"f1": 1.0}}
        elif self.path.startswith("/v1/models"):
            out = {"name": "card-fraud", "active": "v1", "shadow": None, "path": self.path,
                   "method": method, "body": json.loads(body) if body else None}
            if self.path.endswith("/rollback"):
                status, out = 409, {"type": "about:blank", "title": "Conflict", "status": 409,
                                    "detail": "nothing to roll back to"}
        elif self.path.startswith("/v1/drift"):
            out = {"window": {"count": 10}, "features": [], "query": self.path}
        else:
            status, out = 404, {"title": "not found", "status": 404}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
