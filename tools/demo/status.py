#!/usr/bin/python3
"""Live status and summary of a running streamscore stack (used by demo.sh).

One call prints one status line: records per second on every topic (from the
topics themselves), consumer lag, score latency p99, decisions, fraud caught
and precision once labels arrive, drift status and the active model version
(from the services' /metrics). Rates are deltas against the previous call,
kept in --state.

--wait-drained S   repeat until the pipeline has caught up with the traffic
                   (or S seconds pass)
--summary FILE     print the final summary and write it as JSON; exit 1 when
                   events are unaccounted for
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request

TOPICS = {"ingest": "events.ingest", "raw": "events.raw", "dlq": "events.dlq",
          "features": "features.enriched", "scores": "scores", "labels": "labels",
          "drift": "monitoring.drift"}

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(url):
    """Prometheus text -> list of (name, {labels}, value); [] when unreachable."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=2) as r:
            text = r.read().decode()
    except (OSError, ValueError):
        return []
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if m:
            try:
                out.append((m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))
            except ValueError:
                pass
    return out


def total(series, pattern, **labels):
    rx = re.compile(pattern)
    return sum(v for n, l, v in series
               if rx.search(n) and all(l.get(k) == w for k, w in labels.items()) and not math.isnan(v))


def quantile(series, pattern, q):
    """Quantile from histogram buckets (summed over label sets), linear within a bucket."""
    rx = re.compile(pattern)
    buckets = {}
    for n, l, v in series:
        if n.endswith("_bucket") and rx.search(n[:-7]) and "le" in l:
            le = math.inf if l["le"] == "+Inf" else float(l["le"])
            buckets[le] = buckets.get(le, 0) + v
    if not buckets:
        return None
    edges = sorted(buckets)
    count = buckets[edges[-1]]
    if count <= 0:
        return None
    rank, prev_edge, prev_count = q * count, 0.0, 0.0
    for e in edges:
        if buckets[e] >= rank:
            if math.isinf(e):
                return prev_edge
            span = buckets[e] - prev_count
            return prev_edge + (e - prev_edge) * ((rank - prev_count) / span if span else 1)
        prev_edge, prev_count = e, buckets[e]
    return prev_edge


def topic_counts(args):
    """Records per topic: the sum of the partitions' high watermarks (kcat -Q,
    one cheap ListOffsets round trip; no consuming)."""
    cmd = ["kcat", "-b", args.brokers, "-Q"]
    for topic in TOPICS.values():
        for p in range(args.partitions):
            cmd += ["-t", "%s:%d:-1" % (topic, p)]
    counts = {k: None for k in TOPICS}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return counts
    by_topic = {}
    for line in r.stdout.splitlines():  # "events.raw [2] offset 1234"
        m = re.match(r"^(\S+) \[(\d+)\] offset (-?\d+)", line)
        if m:
            by_topic[m.group(1)] = by_topic.get(m.group(1), 0) + max(0, int(m.group(3)))
    for key, topic in TOPICS.items():
        counts[key] = by_topic.get(topic)
    return counts


def snapshot(args, prev=None):
    m = {name: scrape(getattr(args, name)) for name in ("ingest", "features", "scorer", "drift", "gateway")}
    stale = prev.get("metrics", {}) if prev else {}
    for name, series in m.items():  # a busy service missed the 2 s scrape: keep its last numbers
        if not series and stale.get(name):
            m[name] = [tuple(x) for x in stale[name]]
    s = {"t": time.time(), "topics": topic_counts(args)}
    allm = [x for v in m.values() for x in v]
    s["lag"] = total(allm, r"consumer.*lag|lag.*messages|_lag$")
    p99 = quantile(m["scorer"], r"inference_seconds", 0.99)
    s["p99_name"] = "inference"
    s["p99_ms"] = None if p99 is None else p99 * 1000
    s["decisions"] = {d: total(m["scorer"], r"scores_total$", decision=d, role="PRIMARY")
                      or total(m["scorer"], r"scores_total$", decision=d)
                      for d in ("APPROVE", "REVIEW", "DECLINE")}
    versions = [l.get("version") for n, l, v in m["scorer"]
                if n.endswith("model_info") and v == 1 and l.get("role", "").lower() in ("primary", "active")]
    s["model"] = versions[0] if versions else None
    # live performance and drift from the drift service's gauges
    def value(feature, metric):
        vals = [v for n, l, v in m["drift"] if n.endswith("drift_value") and l.get("feature") == feature
                and l.get("metric") == metric and not math.isnan(v)]
        return vals[-1] if vals else None
    def status(feature):
        vals = [v for n, l, v in m["drift"] if n.endswith("drift_status") and l.get("feature") == feature
                and l.get("metric") == "status"]
        return None if not vals else ["OK", "WARN", "ALERT"][int(min(max(vals[-1], 0), 2))]
    s["precision"], s["recall"] = value("__performance__", "precision_decline"), value("__performance__", "recall_decline")
    s["recall_flagged"], s["auc"] = value("__performance__", "recall"), value("__performance__", "auc")
    s["labels_joined"] = value("__performance__", "labels_joined")
    statuses = [v for n, l, v in m["drift"] if n.endswith("drift_overall_status")]
    worst = max(statuses) if statuses else None
    s["drift"] = None if worst is None else ["OK", "WARN", "ALERT"][int(min(max(worst, 0), 2))]
    s["score_drift"] = status("__score__")
    s["features_alert"] = sum(1 for n, l, v in m["drift"] if n.endswith("drift_status") and
                              l.get("metric") == "status" and not l.get("feature", "_").startswith("__") and v >= 2)
    s["alive"] = {k: bool(v) for k, v in m.items()}
    s["metrics"] = {k: [x for x in v if x[0].startswith(("ss_scorer", "streamscore_drift", "ss_kafka_consumer_lag"))]
                    for k, v in m.items()}
    return s


def rate(cur, prev, key):
    a, b = cur["topics"].get(key), (prev or {}).get("topics", {}).get(key)
    if a is None:
        return "?"
    if b is None or cur["t"] <= prev["t"]:
        return "%d" % a
    return "%d/s" % max(0, (a - b) / (cur["t"] - prev["t"]))


def fmt(n):
    return "-" if n is None else ("%d" % n)


def line(cur, prev, elapsed, retrain_note):
    t = cur["topics"]
    d = cur["decisions"]
    perf = "labels pending"
    if cur["recall"] is not None:
        perf = "fraud declined %.0f%% (flagged %s) precision %s auc %s" % (
            100 * cur["recall"],
            "-" if cur.get("recall_flagged") is None else "%.0f%%" % (100 * cur["recall_flagged"]),
            "-" if cur["precision"] is None else "%.2f" % cur["precision"],
            "-" if cur.get("auc") is None else "%.3f" % cur["auc"])
    drift = cur["drift"] or "-"
    if cur["drift"]:
        drift = "%s (score %s, %d features ALERT)" % (cur["drift"], cur.get("score_drift") or "-",
                                                      cur.get("features_alert") or 0)
    p99 = "-" if cur["p99_ms"] is None else "%.1fms" % cur["p99_ms"]
    return ("[%4ds] in %s raw %s feat %s scored %s dlq %s | lag %s | p99 %s %s | "
            "approve %d review %d decline %d | %s | labels %s | drift %s | model %s%s" % (
                elapsed, rate(cur, prev, "ingest"), rate(cur, prev, "raw"), rate(cur, prev, "features"),
                rate(cur, prev, "scores"), fmt(t.get("dlq")), fmt(cur["lag"]), p99, cur["p99_name"],
                d["APPROVE"], d["REVIEW"], d["DECLINE"], perf, fmt(t.get("labels")),
                drift, cur["model"] or "-", retrain_note))


def retrain_note(path):
    """' | retraining...' while training runs, ' | promoted <v> at <time>' after."""
    try:
        lines = [l.split() for l in open(path) if "promoted " in l or "retraining:" in l
                 or "training failed" in l]
    except OSError:
        return ""
    if not lines:
        return ""
    last = lines[-1]
    if "retraining:" in last:
        return " | retraining (drift ALERT) since %s" % last[0]
    if "promoted" in last:
        return " | retrained: promoted %s at %s" % (last[-1], last[0])
    return " | retraining failed at %s (logs/retrain.log)" % last[0]


def summary(args, cur, lg):
    t = cur["topics"]
    events = lg.get("events") if lg else None
    invalid = (lg.get("invalid") or {}).get("total") if lg else None
    sent = None if events is None else events + (invalid or 0)
    s = {
        "loadgen": lg,
        "topics": {TOPICS[k]: v for k, v in t.items()},
        "events_sent": sent, "events_valid": events, "events_invalid": invalid,
        "fraud_sent": lg.get("fraud") if lg else None,
        "decisions": cur["decisions"], "precision_decline": cur["precision"], "recall_decline": cur["recall"],
        "recall_flagged": cur.get("recall_flagged"), "auc": cur.get("auc"), "score_drift": cur.get("score_drift"),
        "drift_status": cur["drift"], "model_version": cur["model"],
        "score_p99_ms": cur["p99_ms"], "consumer_lag": cur["lag"],
    }
    checks = {
        # >=: events sent by hand (curl, POST /v1/score) join loadgen's
        "every event reached events.ingest": sent is not None and (t.get("ingest") or 0) >= sent,
        "every valid event was scored": events is not None and t.get("scores") is not None
                                          and t["scores"] >= events,
        "every invalid event is in the DLQ": invalid is not None and (t.get("dlq") or 0) >= invalid,
        "every label was delivered": lg is not None and (t.get("labels") or 0) >= lg.get("labels", 0),
        "drift reports were produced": (t.get("drift") or 0) > 0,
    }
    if args.interrupted:
        checks = {}
    s["checks"] = checks
    s["interrupted"] = args.interrupted
    with open(args.summary, "w") as f:
        json.dump(s, f, indent=1)
        f.write("\n")
    print()
    print("summary")
    print("  events sent        %s (%s valid, %s invalid), %s fraudulent" % (
        fmt(sent), fmt(events), fmt(invalid), fmt(s["fraud_sent"])))
    for k in ("ingest", "raw", "dlq", "features", "scores", "labels", "drift"):
        print("  %-18s %s" % (TOPICS[k], fmt(t.get(k))))
    d = cur["decisions"]
    print("  decisions          approve %d, review %d, decline %d" % (d["APPROVE"], d["REVIEW"], d["DECLINE"]))
    if cur["recall"] is not None:
        print("  live performance   DECLINE: precision %.3f, recall %.3f; REVIEW or DECLINE: recall %.3f; "
              "AUC %.3f (last %d labelled events)" % (
                  cur["precision"] or 0, cur["recall"], cur.get("recall_flagged") or 0, cur.get("auc") or 0,
                  cur.get("labels_joined") or 0))
    print("  drift status       %s (score distribution %s, %d features in ALERT)    model %s" % (
        cur["drift"] or "-", cur.get("score_drift") or "-", cur.get("features_alert") or 0, cur["model"] or "-"))
    print("  score p99          %s (%s)" % ("-" if cur["p99_ms"] is None else "%.2f ms" % cur["p99_ms"],
                                           cur["p99_name"]))
    for name, ok in checks.items():
        print("  %s %s" % ("ok  " if ok else "FAIL", name))
    return 0 if all(checks.values()) else 1


def main():
    ap = argparse.ArgumentParser()
    for name in ("ingest", "features", "scorer", "drift", "gateway"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--state", required=True)
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--loadgen-log")
    ap.add_argument("--retrain-log")
    ap.add_argument("--loadgen-summary")
    ap.add_argument("--wait-drained", type=float, default=0)
    ap.add_argument("--summary")
    ap.add_argument("--interrupted", action="store_true", help="summary of a stopped run: numbers, no checks")
    args = ap.parse_args()

    try:
        prev = json.load(open(args.state))
    except (OSError, ValueError):
        prev = None
    lg = None
    if args.loadgen_summary:
        try:
            lg = json.load(open(args.loadgen_summary))
        except (OSError, ValueError):
            lg = None

    cur = snapshot(args, prev)
    if args.wait_drained:
        end = time.time() + args.wait_drained
        want = lg["events"] if lg else None
        while time.time() < end:
            t = cur["topics"]
            if want is not None and (t.get("scores") or 0) >= want and not cur["lag"]:
                break
            print(line(cur, prev, args.elapsed + int(time.time() - cur["t"]), ""), flush=True)
            time.sleep(3)
            prev, cur = cur, snapshot(args, cur)
    if args.summary:
        rc = summary(args, cur, lg)
    else:
        print(line(cur, prev, args.elapsed, retrain_note(args.retrain_log) if args.retrain_log else ""),
              flush=True)
        rc = 0
    with open(args.state, "w") as f:
        json.dump(cur, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
