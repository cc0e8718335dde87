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
        "query": "prometheus", "hide": 0, "refresh": 1,
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
            "query": {"query": query, "refId": name},
            "includeAll": True, "multi": True, "allValue": ".*",
            "refresh": 2, "sort": 1, "hide": 0}


JOB = 'job=~"streamscore-.+"'
PERF = 'feature="__performance__"'


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
    ps.append(panel(4, "Consumed msg/s by stage", [("job:ss_kafka_consumed:rate5m", "{{job}}")],
                    0, 7, unit="ops"))
    ps.append(panel(5, "Produced msg/s by stage", [("job:ss_kafka_produced:rate5m", "{{job}}")],
                    12, 7, unit="ops"))
    ps.append(panel(6, "Decisions/s (serving model)", [("model_version_decision:ss_scorer_scores:rate5m", "{{model_version}} {{decision}}")],
                    0, 15, unit="ops"))
    ps.append(panel(7, "HTTP requests/s by route", [("job_route:streamscore_http_requests:rate5m", "{{job}} {{route}}")],
                    12, 15, unit="reqps"))
    ps.append(row(102, "Lag and errors", 23))
    ps.append(panel(8, "Consumer lag (messages)", [("job_topic:ss_kafka_consumer_lag:sum", "{{job}} {{topic}}")],
                    0, 24, thresholds=[(10000, "orange"), (100000, "red")],
                    desc="Sum over partitions; alerts at 10k (ticket) and 100k (page)."))
    ps.append(panel(9, "DLQ share of input", [("job:ss_dlq:ratio5m", "{{job}}")],
                    12, 24, unit="percentunit", thresholds=[(0.01, "red")]))
    ps.append(panel(10, "Kafka delivery failures/s and paused consumers", [
        ("job:ss_kafka_delivery_failures:rate5m", "failures {{job}}"),
        (f'sum by (job) (ss_kafka_consumer_paused{{{JOB}}})', "paused {{job}}")],
        0, 32, unit="short"))
    ps.append(panel(11, "HTTP 5xx ratio", [("job:streamscore_http_errors:ratio5m", "{{job}}")],
                    12, 32, unit="percentunit", thresholds=[(0.05, "red")]))
    ps.append(row(103, "Latency", 40))
    ps.append(panel(12, "Synchronous scoring latency", [
        ("job:ss_scorer_sync_seconds:p50_5m", "p50 scorer"),
        ("job:ss_scorer_sync_seconds:p99_5m", "p99 scorer"),
        ('job_route:streamscore_http_request_duration_seconds:p99_5m{job="streamscore-gateway", route="/v1/score"}', "p99 gateway /v1/score")],
        0, 41, unit="s", thresholds=[(0.05, "red")]))
    ps.append(panel(13, "Stream inference p99 and HTTP p99 by route", [
        ("job:ss_scorer_inference_seconds:p99_5m", "inference {{job}}"),
        ("job_route:streamscore_http_request_duration_seconds:p99_5m", "{{job}} {{route}}")],
        12, 41, unit="s"))
    return dashboard("streamscore-pipeline", "streamscore / pipeline overview",
                     "Throughput, lag, DLQ, latency and health of ingest -> features -> scorer -> drift and the gateway.",
                     ps)


def drift():
    ps = []
    m = 'model=~"$model"'
    ps.append(row(100, "Feature drift", 0))
    ps.append(panel(1, "PSI by feature", [(f'max by (feature) (streamscore_drift_value{{{m}, metric="psi", feature!~"__.+__"}})', "{{feature}}")],
                    0, 1, w=24, h=9, thresholds=[(0.1, "orange"), (0.25, "red")],
                    desc="Population stability index of the last window vs the bundle's training baseline; > 0.25 alerts."))
    ps.append(panel(2, "Top drifting features (PSI)", [(f'topk(10, max by (feature) (streamscore_drift_value{{{m}, metric="psi", feature!~"__.+__"}}))', "{{feature}}")],
                    0, 10, w=12, h=8, kind="bargauge", thresholds=[(0.1, "orange"), (0.25, "red")]))
    ps.append(panel(3, "Drift status by feature and metric (0 OK, 1 WARN, 2 ALERT)", [(f'max by (feature, metric) (streamscore_drift_status{{{m}, metric!="status"}}) > 0', "{{feature}} {{metric}}")],
                    12, 10, w=12, h=8, thresholds=[(1, "orange"), (2, "red")]))
    ps.append(panel(4, "Score distribution PSI", [(f'max by (model) (streamscore_drift_value{{{m}, metric="psi", feature="__score__"}})', "{{model}}")],
                    0, 18, w=12, h=8, thresholds=[(0.1, "orange"), (0.25, "red")]))
    ps.append(panel(5, "Data quality: null and out-of-range rates", [
        (f'max by (feature) (streamscore_drift_value{{{m}, metric="null_rate", feature!~"__.+__"}}) > 0', "null {{feature}}"),
        (f'max by (feature) (streamscore_drift_value{{{m}, metric="out_of_range_rate", feature!~"__.+__"}}) > 0', "out of range {{feature}}")],
        12, 18, w=12, h=8, unit="percentunit"))
    ps.append(row(101, "Model performance (delayed labels)", 26))
    ps.append(panel(6, "Live AUC, precision, recall", [
        (f'max by (metric) (streamscore_drift_value{{{m}, {PERF}, metric=~"auc|precision|recall"}})', "{{metric}}")],
        0, 27, unit="percentunit"))
    ps.append(panel(7, "Decision mix (serving model)", [("sum by (decision) (model_version_decision:ss_scorer_scores:rate5m)", "{{decision}}")],
                    12, 27, unit="ops"))
    ps.append(row(102, "Shadow model (scored, never returned)", 35))
    ps.append(panel(8, "Shadow agrees with the serving decision", [
        ('sum(rate(ss_scorer_shadow_decisions_total{agree="true"}[5m])) / sum(rate(ss_scorer_shadow_decisions_total[5m]))', "agreement")],
        0, 36, unit="percentunit",
        desc="Share of events where the shadow model's decision equals the serving model's."))
    ps.append(panel(9, "|shadow score - serving score|", [
        ('histogram_quantile(0.5, sum by (le) (rate(ss_scorer_shadow_score_diff_bucket[5m])))', "p50"),
        ('histogram_quantile(0.99, sum by (le) (rate(ss_scorer_shadow_score_diff_bucket[5m])))', "p99")],
        12, 36))
    return dashboard("streamscore-drift", "streamscore / drift and model performance",
                     "Feature and score drift against the training baseline, data quality, and live model quality once labels arrive.",
                     ps, [query_var("model", "Model", "label_values(streamscore_drift_value, model)")])


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
