#!/usr/bin/python3
"""Static checks of helm/streamscore for machines without the helm binary.

    check_chart.py CHART_DIR [VALUES_FILE...]

This does NOT render the chart (only `helm template` can do that faithfully;
see docs/deploy.md for what was and was not validated). It checks:

  * Chart.yaml: apiVersion v2, name, SemVer version, appVersion, kubeVersion;
  * values.yaml and every extra VALUES_FILE (merged over it, as helm -f does)
    parse and validate against values.schema.json (JSON Schema draft 7, the
    same check helm install/lint performs);
  * each template's actions are balanced: every {{ has its }}, and every
    if/range/with/define is closed by an end, in order;
  * every .Values.a.b path a template reads exists in values.yaml, and every
    $cfg.a.b read inside `range $svc, $cfg := .Values.services` exists in
    each service's entry;
  * every include/template names a define from the chart;
  * the chart emits the same kinds as k8s/base (given as --kinds K,K,...).

Prints one line per problem; exit status 1 if any.
"""
import json
import os
import re
import sys

import jsonschema
import yaml

ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
OPENERS = ("if", "range", "with", "define", "block")
VALUES_PATH = re.compile(r"(?:\$|\.root|\B)\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
CFG_PATH = re.compile(r"\$cfg((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
INCLUDE = re.compile(r"\b(?:include|template)\s+\"([^\"]+)\"")
DEFINE = re.compile(r"\bdefine\s+\"([^\"]+)\"")
KIND = re.compile(r"^kind:\s*([A-Za-z]+)\s*$", re.M)
SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def deep_merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def has_path(tree, parts):
    node = tree
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return False
        node = node[p]
    return True


def check_actions(name, text, problems):
    opens = text.count("{{")
    closes = text.count("}}")
    if opens != closes:
        problems.append(f"{name}: {opens} '{{{{' but {closes} '}}}}'")
    stack = []
    for m in ACTION.finditer(text):
        body = m.group(1)
        if body.startswith("/*"):
            continue
        word = body.split()[0] if body.split() else ""
        if word in OPENERS:
            stack.append((word, text.count("\n", 0, m.start()) + 1))
        elif word == "end":
            if not stack:
                problems.append(f"{name}:{text.count(chr(10), 0, m.start()) + 1}: 'end' without an opening action")
            else:
                stack.pop()
        elif word in ("else",) and not stack:
            problems.append(f"{name}: 'else' outside if/range/with")
    for word, line in stack:
        problems.append(f"{name}:{line}: '{word}' is never closed by 'end'")


def main():
    args = sys.argv[1:]
    kinds_expected = None
    if "--kinds" in args:
        i = args.index("--kinds")
        kinds_expected = set(args[i + 1].split(","))
        del args[i:i + 2]
    chart, extra_values = args[0], args[1:]
    problems = []

    with open(os.path.join(chart, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    if meta.get("apiVersion") != "v2":
        problems.append("Chart.yaml: apiVersion must be v2")
    for key in ("name", "version", "appVersion", "description", "kubeVersion"):
        if not meta.get(key):
            problems.append(f"Chart.yaml: {key} missing")
    if not SEMVER.match(str(meta.get("version", ""))):
        problems.append(f"Chart.yaml: version {meta.get('version')!r} is not SemVer")
    if meta.get("name") != os.path.basename(os.path.normpath(chart)):
        problems.append("Chart.yaml: name differs from the chart directory")

    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f)
    with open(os.path.join(chart, "values.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for label, vals in [("values.yaml", values)] + [
            (p, deep_merge(values, yaml.safe_load(open(p)) or {})) for p in extra_values]:
        for err in sorted(validator.iter_errors(vals), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in err.path) or "(root)"
            problems.append(f"{label}: {path}: {err.message}")

    tdir = os.path.join(chart, "templates")
    defines = set()
    texts = {}
    for name in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, name)) as f:
            texts[name] = f.read()
        defines.update(DEFINE.findall(texts[name]))

    kinds = set()
    services = values.get("services", {})
    for name, text in texts.items():
        check_actions(name, text, problems)
        for m in VALUES_PATH.finditer(text):
            parts = m.group(1).strip(".").split(".")
            if not has_path(values, parts):
                problems.append(f"{name}: .Values.{'.'.join(parts)} is not in values.yaml")
        for m in CFG_PATH.finditer(text):
            parts = m.group(1).strip(".").split(".")
            for svc, cfg in services.items():
                if not has_path(cfg, parts):
                    problems.append(f"{name}: $cfg.{'.'.join(parts)} missing for services.{svc}")
        for inc in INCLUDE.findall(text):
            if inc not in defines:
                problems.append(f"{name}: include \"{inc}\" has no define")
        kinds.update(KIND.findall(text))

    if kinds_expected is not None:
        for k in sorted(kinds_expected - kinds):
            problems.append(f"templates: no {k} (k8s/base has one)")

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
