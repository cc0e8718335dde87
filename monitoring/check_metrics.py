#!/usr/bin/python3
"""Cross-check dashboards, rules and the services' metric names.

    check_metrics.py REPO_ROOT OUT_RULES_FILE [--strict-code]

* Every Grafana dashboard under monitoring/grafana/dashboards parses, has a
  uid/title, unique panel ids, panels inside the 24-column grid, and every
  panel target uses the dashboard's ${datasource} variable.
* Every PromQL expression of the dashboards is written to OUT_RULES_FILE as a
  recording rule, so `promtool check rules OUT_RULES_FILE` parses it with
  Prometheus's own parser (template variables become ".*").
* Every recording-rule name (level:metric:op) a dashboard or alert uses is
  recorded by monitoring/rules.
* Every raw ss_* metric a dashboard or rule uses is defined by the code: a
  "ss_..." string literal in libs/, services/ or tools/ C sources (histogram
  series may add _bucket/_sum/_count). Missing names are errors with
  --strict-code, else warnings (the services land on other branches).

Prints problems (and '# warning' lines); exit status 1 on any problem.
"""
import glob
import json
import os
import re
import sys

import yaml

# the services' prefixes: ss_ (libs/common, scorer), streamscore_ (http,
# features, drift, gateway), ingest_
PREFIXES = r"(?:ss|streamscore|ingest)_"
SS_METRIC = re.compile(r"(?<![\w:])" + PREFIXES + r"[a-z0-9_]+(?![\w:\-])")
RECORDED = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")
CODE_LITERAL = re.compile(r"\"(" + PREFIXES + r"[a-z0-9_]+)\"")
HIST_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def code_metrics(root):
    names = set()
    for pattern in ("libs/*/*.c", "services/*/*.c", "tools/*/*.c", "libs/*/*.h", "services/*/*.h"):
        for path in glob.glob(os.path.join(root, pattern)):
            with open(path, errors="replace") as f:
                names.update(CODE_LITERAL.findall(f.read()))
    return names


def rules_exprs(root):
    recorded, exprs = set(), []
    for path in sorted(glob.glob(os.path.join(root, "monitoring/rules/*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    recorded.add(rule["record"])
                exprs.append((f"{os.path.basename(path)}:{rule.get('record') or rule.get('alert')}",
                              rule["expr"]))
    return recorded, exprs


def dashboard_exprs(root, problems):
    exprs = []
    for path in sorted(glob.glob(os.path.join(root, "monitoring/grafana/dashboards/*.json"))):
        name = os.path.basename(path)
        try:
            with open(path) as f:
                dash = json.load(f)
        except ValueError as e:
            problems.append(f"{name}: not JSON: {e}")
            continue
        for key in ("uid", "title", "panels", "schemaVersion"):
            if key not in dash:
                problems.append(f"{name}: no {key}")
        variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
        if "datasource" not in variables:
            problems.append(f"{name}: no datasource variable")
        ids = set()
        for p in dash.get("panels", []):
            pid = p.get("id")
            if pid in ids:
                problems.append(f"{name}: duplicate panel id {pid}")
            ids.add(pid)
            g = p.get("gridPos", {})
            if g.get("x", 0) + g.get("w", 0) > 24:
                problems.append(f"{name}: panel {pid} is wider than the grid")
            if p.get("type") == "row":
                continue
            if not p.get("targets"):
                problems.append(f"{name}: panel {pid} ({p.get('title')}) has no targets")
            for t in p.get("targets", []):
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    problems.append(f"{name}: panel {pid} target {t.get('refId')} bypasses ${{datasource}}")
                expr = t.get("expr", "")
                if not expr:
                    problems.append(f"{name}: panel {pid} target without expr")
                exprs.append((f"{name}:panel {pid}", expr))
    return exprs


def main():
    root, out_rules = sys.argv[1], sys.argv[2]
    strict = "--strict-code" in sys.argv[3:]
    problems, warnings = [], []
    recorded, rexprs = rules_exprs(root)
    dexprs = dashboard_exprs(root, problems)
    code = code_metrics(root)

    rules = [{"record": f"dashboard:check_{i}:expr",
              "expr": re.sub(r"\$\{?[a-z_]+\}?", ".*", e)} for i, (_, e) in enumerate(dexprs)]
    with open(out_rules, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}, f)

    used_raw = {}
    for where, expr in dexprs + rexprs:
        for rec in RECORDED.findall(expr):
            if rec not in recorded:
                problems.append(f"{where}: uses {rec}, which no recording rule defines")
        for m in SS_METRIC.findall(expr):
            used_raw.setdefault(m, where)
    for m, where in sorted(used_raw.items()):
        base = HIST_SUFFIX.sub("", m)
        if m in code or base in code:
            continue
        msg = f"{where}: metric {m} is not defined by any service (no \"{base}\" literal in libs/, services/, tools/)"
        (problems if strict else warnings).append(msg)

    for w in warnings:
        print("# warning: " + w)
    for p in problems:
        print(p)
    print(f"# {len(dexprs)} dashboard exprs, {len(rexprs)} rule exprs, {len(used_raw)} ss_ metrics used, "
          f"{len(code)} defined in code")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
