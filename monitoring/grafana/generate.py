#!/usr/bin/python3
"""Generate the Grafana dashboards in dashboards/ from one description.

    /usr/bin/python3 monitoring/grafana/generate.py          # rewrite the JSON files
    /usr/bin/python3 monitoring/grafana/generate.py --check  # exit 1 if they are stale

The JSON is committed (Grafana provisioning reads it as is); this script keeps
panel layout, datasource references and metric names consistent, and
tests/test_deploy.sh checks the committed files match it.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = os.path.dirname(os.path.abspath(__file__))


def target(expr, legend, ref):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


def panel(pid, title, exprs, x, y, w=12, h=8, unit="short", kind="timeseries", desc="",
          thresholds=None):
    refs = "ABCDEFGH"
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [target(e, l, refs[i]) for i, (e, l) in enumerate(exprs)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "area"}
    if thresholds:
        p["fieldConfig"]["defaults"]["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}] +
                     [{"color": c, "value": v} for v, c in thresholds]}
        if kind == "timeseries":
            p["fieldConfig"]["defaults"]["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return p


def row(pid, title, y):
    return {"id": pid, "type": "row", "title": title, "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


def dashboard(uid, title, desc, panels, extra_vars=()):
    variables = [{
        "name": "datasource", "label": "Datasource", "type": "datasource",
        "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
    }]
    variables += list(extra_vars)
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["streamscore"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": [{
            "name": "Alerts", "datasource": {"type": "datasource", "uid": "grafana"},
            "enable": True, "iconColor": "red", "builtIn": 1, "type": "dashboard",
            "hide": True}]},
        "links": [],
        "panels": panels,
    }


def query_var(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {},
            "refresh": 2, "sort": 1, "hide": 0}


JOB = 'job=~"streamscore-.+"'


def pipeline():
    ps = []
    ps.append(row(100, "Health", 0))
    ps.append(panel(1, "Targets up", [(f'sum by (job) (up{{{JOB}}})', "{{job}}")],
                    0, 1, w=8, h=5, kind="stat", desc="Scraped instances per service."))
    ps.append(panel(2, "Redis ready", [(f'min by (job) (ss_redis_ready{{{JOB}}})', "{{job}}")],
                    8, 1, w=8, h=5, kind="stat", thresholds=[(0.5, "green")],
                    desc="1 = every instance has a live Redis connection."))
    ps.append(panel(3, "Firing alerts", [('sum by (alertname) (ALERTS{alertstate="firing", alertname=~"Streamscore.+"})', "{{alertname}}")],
                    16, 1, w=8, h=5, kind="stat", thresholds=[(1, "red")]))
    ps.append(row(101, "Throughput", 6))
    ps.append(panel(4, "Consumed msg/s by stage", [("job_topic:ss_kafka_consumed:rate5m", "{{job}} <- {{topic}}")],
                    0, 7, unit="ops"))
    ps.append(panel(5, "Produced msg/s by stage", [("job_topic:ss_kafka_produced:rate5m", "{{job}} -> {{topic}}")],
                    12, 7, unit="ops"))
    ps.append(panel(6, "Decisions/s", [("decision:ss_scores:rate5m", "{{model}} {{decision}}")],
                    0, 15, unit="ops"))
    ps.append(panel(7, "Gateway requests/s by route", [("route:ss_http_requests:rate5m", "{{route}}")],
                    12, 15, unit="reqps"))
    ps.append(row(102, "Lag and errors", 23))
    ps.append(panel(8, "Consumer lag (messages)", [("job_topic:ss_kafka_consumer_lag:sum", "{{job}} {{topic}}")],
                    0, 24, thresholds=[(10000, "orange"), (100000, "red")],
                    desc="Sum over partitions; alerts at 10k (ticket) and 100k (page)."))
    ps.append(panel(9, "DLQ share of input", [("job:ss_dlq:ratio5m", "{{job}}")],
                    12, 24, unit="percentunit", thresholds=[(0.01, "red")]))
    ps.append(panel(10, "Kafka delivery errors/s", [(f'sum by (job, topic) (rate(ss_kafka_delivery_errors_total{{{JOB}}}[5m]))', "{{job}} {{topic}}")],
                    0, 32, unit="ops"))
    ps.append(panel(11, "Gateway 5xx ratio", [("job:ss_http_errors:ratio5m", "{{job}}")],
                    12, 32, unit="percentunit", thresholds=[(0.05, "red")]))
    ps.append(row(103, "Latency", 40))
    ps.append(panel(12, "Scoring latency", [
        ("job:ss_score_latency_seconds:p50_5m", "p50 {{job}}"),
        ("job:ss_score_latency_seconds:p99_5m", "p99 {{job}}")],
        0, 41, unit="s", thresholds=[(0.05, "red")]))
    ps.append(panel(13, "End-to-end latency p99 (event time -> score)", [
        ("job:ss_pipeline_latency_seconds:p99_5m", "{{job}}")], 12, 41, unit="s"))
    return dashboard("streamscore-pipeline", "streamscore / pipeline overview",
                     "Throughput, lag, DLQ, latency and health of ingest -> features -> scorer -> drift and the gateway.",
                     ps)


def drift():
    ps = []
    ps.append(row(100, "Feature drift", 0))
    ps.append(panel(1, "PSI by feature", [('max by (feature) (ss_drift_psi{model=~"$model"})', "{{feature}}")],
                    0, 1, w=24, h=9, thresholds=[(0.1, "orange"), (0.25, "red")],
                    desc="Population stability index vs the bundle's training baseline; > 0.25 alerts."))
    ps.append(panel(2, "Top drifting features (PSI)", [('topk(10, max by (feature) (ss_drift_psi{model=~"$model"}))', "{{feature}}")],
                    0, 10, w=12, h=8, kind="bargauge", thresholds=[(0.1, "orange"), (0.25, "red")]))
    ps.append(panel(3, "Score distribution PSI", [('max by (model) (ss_drift_score_psi{model=~"$model"})', "{{model}}")],
                    12, 10, w=12, h=8, thresholds=[(0.1, "orange"), (0.25, "red")]))
    ps.append(row(101, "Model performance (delayed labels)", 18))
    ps.append(panel(4, "Live AUC vs training", [
        ('min by (model) (ss_model_auc{model=~"$model"})', "live {{model}}"),
        ('max by (model) (ss_model_baseline_auc{model=~"$model"})', "training {{model}}")],
        0, 19, unit="percentunit"))
    ps.append(panel(5, "Decision mix", [('sum by (decision) (decision:ss_scores:rate5m{model=~"$model"})', "{{decision}}")],
                    12, 19, unit="ops"))
    return dashboard("streamscore-drift", "streamscore / drift and model performance",
                     "Feature and score drift against the training baseline, and live model quality once labels arrive.",
                     ps, [query_var("model", "Model", "label_values(ss_drift_psi, model)")])


DASHBOARDS = {"pipeline-overview.json": pipeline, "drift.json": drift}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, build in DASHBOARDS.items():
        text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
        path = os.path.join(HERE, "dashboards", name)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("stale dashboards (run monitoring/grafana/generate.py): " + " ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
