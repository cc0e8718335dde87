#!/usr/bin/python3
"""Policy checks on rendered manifests (kubectl kustomize output).

    kubectl kustomize k8s/overlays/prod | check_manifests.py --overlay prod

Checks what a cluster admission policy would, plus streamscore's own rules:
  * each streamscore Deployment: liveness httpGet /healthz, readiness /readyz,
    probe ports declared, requests and limits for cpu and memory, pod
    runAsNonRoot with a non-zero UID, container readOnlyRootFilesystem,
    allowPrivilegeEscalation false, all capabilities dropped, seccomp
    RuntimeDefault, no service-account token, selector matching the template;
  * ConfigMaps and (non-optional) Secrets the pods reference exist in the
    output, unless listed as external for the overlay;
  * each Deployment has a PodDisruptionBudget selecting its pods, an HPA
    targeting it (min <= max, consumers' max <= --partitions; the drift
    singleton instead runs exactly 1 replica, unscaled), and a Service;
  * NetworkPolicies: a default deny for ingress and egress, gateway ingress on
    8080, Prometheus scrape ingress, egress to DNS, Kafka and Redis;
  * --overlay prod: images pinned to a version tag (not latest/dev).
Prints one line per problem; exit status 1 if any.
"""
import argparse
import sys

import yaml

SERVICES = ["ingest", "features", "scorer", "drift", "gateway"]
CONSUMERS = ["ingest", "features", "scorer", "drift"]
# One instance by design (drift windows are per model): no HPA, 1 replica.
SINGLETONS = ["drift"]
# Secrets created outside the repo in each overlay.
EXTERNAL_SECRETS = {
    "base": {"streamscore-gateway-api-keys", "streamscore-credentials"},
    "dev": set(),
    "prod": {"streamscore-gateway-api-keys", "streamscore-credentials"},
}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_probe(where, c, name, path, problems):
    probe = c.get(name)
    if not probe:
        problems.append(f"{where}: no {name}")
        return
    get = probe.get("httpGet", {})
    if get.get("path") != path:
        problems.append(f"{where}: {name} path is {get.get('path')!r}, want {path}")
    ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
    if get.get("port") not in ports:
        problems.append(f"{where}: {name} port {get.get('port')!r} is not a container port")


def check_deployment(d, objs, args, problems):
    name = d["metadata"]["name"]
    spec = d["spec"]
    tpl = spec["template"]
    pod = tpl["spec"]
    labels = tpl["metadata"].get("labels", {})
    if not matches(spec.get("selector", {}).get("matchLabels"), labels):
        problems.append(f"{name}: selector does not match the pod template labels")
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
    if not psc.get("runAsUser"):
        problems.append(f"{name}: pod securityContext.runAsUser unset or 0")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: seccompProfile is not RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: service account token is mounted")
    if not pod.get("terminationGracePeriodSeconds", 30) >= 30:
        problems.append(f"{name}: terminationGracePeriodSeconds too short for the drain")
    containers = pod.get("containers", []) + pod.get("initContainers", [])
    main = pod["containers"][0]
    for c in containers:
        where = f"{name}/{c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities not dropped")
        if sc.get("runAsUser") == 0:
            problems.append(f"{where}: runs as root")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    problems.append(f"{where}: no {kind}.{r}")
        image = c.get("image", "")
        if args.overlay == "prod":
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if tag in ("", "latest", "dev") and "@sha256:" not in image:
                problems.append(f"{where}: image {image!r} is not pinned")
        for ef in c.get("envFrom", []):
            check_ref(where, ef.get("configMapRef"), "ConfigMap", objs, args, problems)
            check_ref(where, ef.get("secretRef"), "Secret", objs, args, problems)
        for e in c.get("env", []):
            vf = e.get("valueFrom", {})
            check_ref(where, vf.get("configMapKeyRef"), "ConfigMap", objs, args, problems)
            check_ref(where, vf.get("secretKeyRef"), "Secret", objs, args, problems)
    check_probe(f"{name}/{main['name']}", main, "livenessProbe", "/healthz", problems)
    check_probe(f"{name}/{main['name']}", main, "readinessProbe", "/readyz", problems)
    if args.overlay == "prod" and name == "streamscore-features":
        vol = next((v for v in pod.get("volumes", []) if v["name"] == "offline"), {})
        claim = vol.get("persistentVolumeClaim", {}).get("claimName")
        if not claim:
            problems.append(f"{name}: offline store is not on a PersistentVolumeClaim (lost with the pod)")
        elif ("PersistentVolumeClaim", claim) not in objs:
            problems.append(f"{name}: PersistentVolumeClaim {claim} does not exist")
        mount = next((m for m in main.get("volumeMounts", []) if m["name"] == "offline"), {})
        if "subPathExpr" not in mount:
            problems.append(f"{name}: pods share one offline directory (no per-pod subPathExpr)")
    mounts = {m["name"] for c in containers for m in c.get("volumeMounts", [])}
    vols = {v["name"] for v in pod.get("volumes", [])}
    for m in sorted(mounts - vols):
        problems.append(f"{name}: volumeMount {m} has no volume")
    return labels


def check_ref(where, ref, kind, objs, args, problems):
    if not ref or ref.get("optional"):
        return
    if (kind, ref["name"]) in objs:
        return
    if kind == "Secret" and ref["name"] in EXTERNAL_SECRETS[args.overlay]:
        return
    problems.append(f"{where}: {kind} {ref['name']} does not exist")


def selects(sel, labels):
    """LabelSelector semantics: matchLabels and In/NotIn/Exists expressions."""
    if sel is None:
        return False
    for k, v in sel.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions", []):
        op, k, vals = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def allows(pols, src, dst, port):
    """Is src -> dst:port allowed both as src's egress and dst's ingress?"""
    def side(kind, me, peer):
        mine = [p for p in pols if selects(p["spec"]["podSelector"], me)
                and kind.capitalize() in p["spec"].get("policyTypes", [])]
        if not mine:
            return True  # not isolated in that direction
        key, peer_key = (kind, "to" if kind == "egress" else "from")
        for p in mine:
            for rule in p["spec"].get(key, []):
                ports = {x.get("port") for x in rule.get("ports", [])}
                if ports and port not in ports:
                    continue
                if any("podSelector" in f and "namespaceSelector" not in f and selects(f["podSelector"], peer)
                       for f in rule.get(peer_key, [])):
                    return True
        return False
    return side("egress", src, dst) and side("ingress", dst, src)


def check_flows(pods, pols, problems):
    for src, dst in (("gateway", "scorer"), ("gateway", "drift")):
        a, b = pods.get(f"streamscore-{src}"), pods.get(f"streamscore-{dst}")
        if a and b and not allows(pols, a, b, 8080):
            problems.append(f"networkpolicy: {src} cannot reach {dst}:8080")


def check_netpol(pols, problems):
    deny = [p for p in pols if p["spec"].get("podSelector") == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    if not deny:
        problems.append("networkpolicy: no default deny (empty podSelector, Ingress+Egress, no rules)")

    def ports_of(rules):
        return {pt.get("port") for r in rules for pt in r.get("ports", [])}

    ingress = [(p["spec"]["podSelector"], ports_of(p["spec"].get("ingress", []))) for p in pols]
    egress = set()
    for p in pols:
        egress |= ports_of(p["spec"].get("egress", []))
    if not any(sel.get("matchLabels", {}).get("app.kubernetes.io/name") == "streamscore-gateway"
               and 8080 in ports for sel, ports in ingress):
        problems.append("networkpolicy: nothing admits traffic to the gateway on 8080")
    if not any(any("namespaceSelector" in f for r in p["spec"].get("ingress", []) for f in r.get("from", []))
               and p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/part-of") == "streamscore"
               for p in pols):
        problems.append("networkpolicy: no Prometheus scrape ingress for all streamscore pods")
    for port, what in ((53, "DNS"), (9092, "Kafka"), (6379, "Redis")):
        if port not in egress and not (port == 9092 and 9096 in egress):
            problems.append(f"networkpolicy: no egress to {what} ({port})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--overlay", choices=sorted(EXTERNAL_SECRETS), default="base")
    ap.add_argument("--partitions", type=int, default=6)
    args = ap.parse_args()
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    objs = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    problems = []

    deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"
            and d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "streamscore"}
    for svc in SERVICES:
        if f"streamscore-{svc}" not in deps:
            problems.append(f"deployment streamscore-{svc} missing")
    pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    services = [d for d in docs if d["kind"] == "Service"]
    for name, d in sorted(deps.items()):
        labels = check_deployment(d, objs, args, problems)
        if not any(matches(p["spec"]["selector"].get("matchLabels"), labels) for p in pdbs):
            problems.append(f"{name}: no PodDisruptionBudget selects its pods")
        hpa = hpas.get(name)
        if name.removeprefix("streamscore-") in SINGLETONS:
            if hpa:
                problems.append(f"{name}: a singleton must not be autoscaled")
            if d["spec"].get("replicas", 1) != 1:
                problems.append(f"{name}: a singleton must run 1 replica")
        elif not hpa:
            problems.append(f"{name}: no HorizontalPodAutoscaler")
        else:
            lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
            if lo > hi:
                problems.append(f"{name}: HPA minReplicas {lo} > maxReplicas {hi}")
            if name.removeprefix("streamscore-") in CONSUMERS and hi > args.partitions:
                problems.append(f"{name}: HPA maxReplicas {hi} > {args.partitions} partitions")
        svc = [s for s in services if matches(s["spec"].get("selector"), labels)]
        if not svc:
            problems.append(f"{name}: no Service selects its pods")
        for s in svc:
            ports = {p.get("name") for p in d["spec"]["template"]["spec"]["containers"][0].get("ports", [])}
            for p in s["spec"]["ports"]:
                if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                    problems.append(f"service {s['metadata']['name']}: targetPort {p['targetPort']} not a container port")
    pols = [d for d in docs if d["kind"] == "NetworkPolicy"]
    check_netpol(pols, problems)
    check_flows({n: d["spec"]["template"]["metadata"].get("labels", {}) for n, d in deps.items()}, pols, problems)

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
