#!/usr/bin/python3
"""Check the environment the deployments set against what the code reads.

    check_env.py REPO_ROOT K8S_BASE_JSON K8S_PROD_JSON

Declared variables: every config-table entry ("NAME", SS_CFG_...) and every
getenv("NAME") in libs/, services/ and tools/ C sources. Set variables:
docker-compose.yml (shared block and per service), the kustomize base and
prod renderings (ConfigMap data and container env), the Helm chart's
ConfigMap and Deployment templates. Checks:

  * every variable a deployment sets is read by some code (a typo such as
    FEATURE_FILE would silently fall back to a default), except
    KAFKA_CONF_* (librdkafka passthrough) and variables consumed by the
    deployment itself ($(VAR) references, the TLS proxy, the image);
  * every required entry (default NULL) of a service's table is set for that
    service in compose and Kubernetes.

Prints one line per problem; exit status 1 if any.
"""
import glob
import json
import os
import re
import sys

import yaml

ENTRY = re.compile(r'"([A-Z][A-Z0-9_]+)"\s*,\s*SS_CFG_[A-Z]+\s*,\s*(NULL|"[^"]*")')
GETENV = re.compile(r'getenv\(\s*"([A-Z][A-Z0-9_]+)"')
# Set for the deployment's own use, not read by the services' config tables.
DEPLOYMENT_ONLY = {
    "POD_NAME",          # subPathExpr of the offline store
    "REDIS_AUTH_TOKEN",  # interpolated into REDIS_URL
    "REDIS_TLS_TARGET",  # the TLS proxy sidecar's target
    "SERVICE",           # image metadata
    "TMPDIR",            # libc / tools
}
SERVICES = ["ingest", "features", "scorer", "drift", "gateway"]


def code_vars(root):
    """(all names, {service: required names}, {service: names its own code or libs/ read})"""
    declared, required, own = set(), {}, {}
    lib_names = set()
    for path in glob.glob(os.path.join(root, "libs/**/*.[ch]"), recursive=True) + \
            glob.glob(os.path.join(root, "services/**/*.[ch]"), recursive=True) + \
            glob.glob(os.path.join(root, "tools/**/*.[ch]"), recursive=True):
        if "/tests/" in path:
            continue
        text = open(path, errors="replace").read()
        names = {n for n, _ in ENTRY.findall(text)} | set(GETENV.findall(text))
        declared |= names
        parts = os.path.relpath(path, root).split(os.sep)
        if parts[0] == "libs":
            lib_names |= names
        elif parts[0] == "services":
            own.setdefault(parts[1], set()).update(names)
            for name, default in ENTRY.findall(text):
                if default == "NULL":
                    required.setdefault(parts[1], set()).add(name)
    own = {svc: names | lib_names for svc, names in own.items()}
    return declared, required, own


def compose_vars(root):
    """({service: every variable}, {service: variables beyond the shared block})"""
    c = yaml.safe_load(open(os.path.join(root, "docker-compose.yml")))
    shared = set(c.get("x-service-env", {}))
    per, own = {}, {}
    for name, svc in c["services"].items():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        per[name] = set(env)
        own[name] = set(env) - shared
    return per, own


def k8s_vars(path):
    """({service: every variable}, {service: variables in the container's own env})"""
    objs = json.load(open(path))
    cms = {o["metadata"]["name"]: set(o.get("data", {})) for o in objs if o["kind"] == "ConfigMap"}
    per, own = {}, {}
    for o in objs:
        if o["kind"] != "Deployment":
            continue
        for c in o["spec"]["template"]["spec"]["containers"]:
            svc = o["metadata"]["name"].removeprefix("streamscore-")
            names = {e["name"] for e in c.get("env", [])}
            own[svc] = set(names)
            for ef in c.get("envFrom", []):
                names |= cms.get(ef.get("configMapRef", {}).get("name"), set())
            per[svc] = names
    return per, own


def helm_vars(root):
    t = os.path.join(root, "helm/streamscore/templates")
    names = set(re.findall(r"^  ([A-Z][A-Z0-9_]+):", open(os.path.join(t, "configmap.yaml")).read(), re.M))
    names |= set(re.findall(r"- name: ([A-Z][A-Z0-9_]+)$", open(os.path.join(t, "deployment.yaml")).read(), re.M))
    return names


def main():
    root, base_json, prod_json = sys.argv[1:4]
    declared, required, own_code = code_vars(root)
    problems = []
    compose, compose_own = compose_vars(root)
    (base, base_own), (prod, prod_own) = k8s_vars(base_json), k8s_vars(prod_json)
    sources = [(f"compose service {s}", v) for s, v in compose.items()
               if s in SERVICES + ["model-init"]]
    sources += [(f"k8s/base {s}", v) for s, v in base.items()]
    sources += [(f"k8s/overlays/prod {s}", v) for s, v in prod.items()]
    sources += [("helm chart", helm_vars(root))]
    for where, names in sources:
        for n in sorted(names):
            if n.startswith("KAFKA_CONF_") or n in DEPLOYMENT_ONLY or n in declared:
                continue
            problems.append(f"{where}: sets {n}, which no code reads")
    # Set for one service in particular: that service must read it.
    for label, own in (("compose", compose_own), ("k8s/base", base_own), ("k8s/overlays/prod", prod_own)):
        for svc in SERVICES:
            if svc not in own_code:
                continue
            for n in sorted(own.get(svc, ())):
                if n.startswith("KAFKA_CONF_") or n in DEPLOYMENT_ONLY or n in own_code[svc]:
                    continue
                problems.append(f"{label}: sets {n} for {svc}, which {svc} does not read")
    for svc in SERVICES:
        for n in sorted(required.get(svc, ())):
            for label, per in (("compose", compose), ("k8s/base", base), ("k8s/overlays/prod", prod)):
                if svc in per and n not in per[svc]:
                    problems.append(f"{label}: {svc} does not set its required {n}")
    for p in problems:
        print(p)
    print(f"# {len(declared)} variables declared by the code")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
