#!/usr/bin/env bash
# Deployment and monitoring artefacts, checked as far as a machine without a
# Docker engine, a Kubernetes cluster, helm or the Terraform registry allows:
#   Dockerfile/.dockerignore structure, docker-compose (docker-compose config
#   when a compose client exists + structure), kustomize builds of base, dev,
#   prod and the components, policy checks and OpenAPI schema validation of
#   the rendered objects, promtool check/test of the rules (plus a mutation
#   that must make the rule tests fail), dashboards (fresh, PromQL parsed by
#   promtool, metric names cross-checked), the Helm chart (schema + static
#   template checks; helm lint/template only if helm is installed), and
#   terraform (hcl2json parse, cross-references, terraform fmt).
# npm packages (@cdktf/hcl2json, kubernetes-models) are installed into a
# cache dir on first use; checks needing them are skipped only if npm cannot
# reach its registry, and the skip says why.
# timeout: 300
. "$(dirname "$0")/lib.sh"
cd "$SS_ROOT" || exit 1

PY=/usr/bin/python3
skip() { ok "$1 # SKIP $2"; }
# quiet CMD...: run, show the output (as TAP comments) only on failure
quiet() { "$@" >"$SS_TMP/quiet.out" 2>&1 && return 0; sed 's/^/# /' "$SS_TMP/quiet.out" | head -40; return 1; }
have() { command -v "$1" >/dev/null 2>&1; }
SERVICES=(ingest features scorer drift gateway)

# ------------------------------------------------------------ npm tools
NODE_DIR=${SS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamscore/node}
NODE_MODULES="$NODE_DIR/node_modules"
NPM_PKGS=("@cdktf/hcl2json@0.21.0" "kubernetes-models@4.5.1" "@kubernetes-models/prometheus-operator@6.0.0"
          "typescript@5.9.3" "@grafana/schema@11.6.16")
node_ready() {
  [ -f "$NODE_MODULES/@cdktf/hcl2json/package.json" ] &&
    [ -f "$NODE_MODULES/kubernetes-models/package.json" ] &&
    [ -f "$NODE_MODULES/@kubernetes-models/prometheus-operator/package.json" ] &&
    [ -x "$NODE_MODULES/.bin/tsc" ] &&
    [ -f "$NODE_MODULES/@grafana/schema/package.json" ]
}
# Installed in the background (first run on a machine: tens of seconds) while
# the checks that need no npm run; node_wait collects the outcome.
NODE_WHY="" NODE_INSTALL_PID=""
if ! have node || ! have npm; then
  NODE_WHY="node/npm not installed"
elif ! node_ready; then
  mkdir -p "$NODE_DIR"
  diag "installing ${NPM_PKGS[*]} into $NODE_DIR (in the background)"
  ( flock 9; node_ready || timeout 180 npm install --prefix "$NODE_DIR" --no-audit --no-fund \
      --no-save --loglevel=error "${NPM_PKGS[@]}" ) 9>"$NODE_DIR/.lock" >"$SS_TMP/npm.log" 2>&1 &
  NODE_INSTALL_PID=$!
  SS_PIDS+=("$NODE_INSTALL_PID")
fi
node_wait() {
  if [ -n "$NODE_INSTALL_PID" ]; then
    wait "$NODE_INSTALL_PID" ||
      NODE_WHY="npm install failed (registry unreachable?): $(grep -m1 -iE 'err|fail' "$SS_TMP/npm.log")"
    NODE_INSTALL_PID=""
  fi
  [ -n "$NODE_WHY" ] || node_ready || NODE_WHY="npm packages missing after install"
  [ -z "$NODE_WHY" ] || diag "npm tools unavailable: $NODE_WHY"
}

# ------------------------------------------------------------ Dockerfile
dockerfile_ok() {
  $PY - <<'EOF'
import fnmatch, os, re, sys
text = open("Dockerfile").read()
lines = [l for l in re.sub(r"\\\n", " ", text).splitlines() if l.strip() and not l.lstrip().startswith("#")]
stages, cur = [], None
for l in lines:
    word = l.split()[0].upper()
    if word == "FROM":
        cur = {"from": l, "lines": []}
        stages.append(cur)
    elif cur is not None:
        cur["lines"].append(l)
bad = []
if len(stages) < 2:
    bad.append("not multi-stage")
if not all("bookworm" in s["from"] or "DEBIAN_TAG" in s["from"] for s in stages):
    bad.append("a stage is not Debian bookworm")
if "ARG DEBIAN_TAG=bookworm-slim" not in text:
    bad.append("base is not bookworm-slim")
final = stages[-1]["lines"]
users = [l.split()[1] for l in final if l.split()[0].upper() == "USER"]
if not users or users[-1].split(":")[0] in ("root", "0"):
    bad.append("final stage does not end as a non-root USER")
elif not users[-1].split(":")[0].isdigit():
    bad.append("USER is not numeric (runAsNonRoot cannot verify a name)")
if not any(l.upper().startswith("ENTRYPOINT") for l in final):
    bad.append("no ENTRYPOINT")
if not any(l.upper().startswith("HEALTHCHECK") for l in final):
    bad.append("no HEALTHCHECK")
if not any(l.upper().startswith("ARG SERVICE") for l in final) or not any(
        l.upper().startswith("ARG SERVICE") for l in stages[0]["lines"]):
    bad.append("ARG SERVICE missing in a stage")
build = " ".join(stages[0]["lines"])
if "make " not in build:
    bad.append("build stage does not build with make")
runtime = " ".join(final)
if re.search(r"\b[a-z0-9.+-]+-dev\b", runtime) or "build-essential" in runtime:
    bad.append("runtime stage installs build packages")
for lib in ["librdkafka1", "libavro23", "libevent-2.1-7", "libevent-openssl-2.1-7",
            "libhiredis0.14", "libjansson4", "libssl3"]:
    if not re.search(r"\b%s\b" % re.escape(lib), runtime):
        bad.append(f"runtime stage lacks {lib}")
# run-time data: assembled in the build stage from the context, copied whole
if not re.search(r"^COPY --from=build /out/app/? /app/?$", "\n".join(final), re.M):
    bad.append("runtime stage does not copy the assembled /app data")
data_step = " ".join(l for l in stages[0]["lines"] if "--mount=type=bind" in l)
for d in ("schemas", "features", "models"):
    if d not in data_step:
        bad.append(f"build stage does not assemble {d}/")
missing_data = [d + "/" for d in ("schemas", "features") if not os.path.isdir(d)]
if not os.path.isdir("models"):
    print("# warning: no models/: images get an empty model store", file=sys.stderr)
# every COPY source (not --from) exists and survives .dockerignore
ignore = [l.strip().rstrip("/") for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
def ignored(path):
    path = path.rstrip("/")
    return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path.split("/")[0], pat) for pat in ignore
               if not pat.startswith("!"))
missing = []
for s in stages:
    for l in s["lines"]:
        parts = l.split()
        if parts[0].upper() != "COPY" or any(p.startswith("--from") for p in parts):
            continue
        srcs = [p for p in parts[1:-1] if not p.startswith("--")]
        for src in srcs:
            if ignored(src):
                bad.append(f"COPY {src} is excluded by .dockerignore")
            elif not os.path.exists(src):
                missing.append(src)
missing += missing_data
for m in missing:
    print(f"# warning: {m} (needed by the image build) does not exist yet in this tree", file=sys.stderr)
if missing and os.path.isdir("services") and all(
        os.path.isdir(f"services/{s}") for s in ["ingest", "features", "scorer", "drift", "gateway"]):
    bad.append("missing from the build context: " + " ".join(missing))
for b in bad:
    print("dockerfile: " + b)
sys.exit(1 if bad else 0)
EOF
}
check "Dockerfile: multi-stage bookworm-slim, make build, runtime libs only, numeric non-root USER, ENTRYPOINT, HEALTHCHECK" dockerfile_ok
# The build stage sees only Makefile, libs/, services/, tools/: make must find
# every prerequisite of each image's program in a copy of exactly that.
image_targets() {
  local s
  for s in services/*/; do [ -d "$s" ] && echo "build/bin/streamscore-$(basename "$s")"; done
  [ -d tools/loadgen ] && echo build/bin/loadgen
}
build_context_ok() {
  rm -rf "$SS_TMP/ctx" && mkdir -p "$SS_TMP/ctx" || return 1
  cp -r Makefile "$SS_TMP/ctx/" && local d
  for d in libs services tools; do [ -d "$d" ] && cp -r "$d" "$SS_TMP/ctx/"; done
  local t rc=0 n=0
  while read -r t; do
    n=$((n + 1))
    make -n -C "$SS_TMP/ctx" BUILD=build "$t" >"$SS_TMP/ctx.log" 2>&1 ||
      { rc=1; echo "# make -n $t: $(grep -m1 -E 'No rule|Error' "$SS_TMP/ctx.log")"; }
  done < <(image_targets)
  [ $n -gt 0 ] || echo "# no services in this tree yet"
  return $rc
}
if [ -n "$(image_targets)" ]; then
  check "image build context (Makefile libs services tools) has every prerequisite: make -n $(image_targets | xargs -n1 basename | paste -sd' ' -)" build_context_ok
else
  skip "image build context has every prerequisite" "no services/ in this tree yet"
fi
# Every shared library the built programs load directly comes from a package
# the runtime stage installs (or from libc itself).
runtime_libs_ok() {
  local runtime bin lib path pkg rc=0
  local -A lib_path=() path_pkg=() users=()
  runtime=$(sed -n '/^FROM .* AS runtime/,$p' Dockerfile)
  for bin in "$SS_BIN"/streamscore-* "$SS_BIN"/loadgen; do
    [ -x "$bin" ] || continue
    for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
      users[$lib]+=" $(basename "$bin")"
    done
  done
  [ ${#users[@]} -gt 0 ] || { echo "# no binaries in $SS_BIN"; return 2; }
  for lib in "${!users[@]}"; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64|AArch64|aarch64/ {print $NF; exit}')
    [ -n "$path" ] || { echo "# $lib (needed by${users[$lib]}) not found by ldconfig"; rc=1; continue; }
    lib_path[$lib]=$(realpath "$path")
  done
  # one dpkg -S for every library (each call reads the whole package database)
  while IFS= read -r line; do
    pkg=${line%%: *}; path=${line#*: }
    path_pkg[$path]=${pkg%%:*}
  done < <(dpkg -S "${lib_path[@]}" 2>/dev/null; for p in "${lib_path[@]}"; do dpkg -S "/usr${p#/usr}" 2>/dev/null || dpkg -S "${p#/usr}" 2>/dev/null; done | sort -u)
  for lib in "${!lib_path[@]}"; do
    path=${lib_path[$lib]}
    pkg=${path_pkg[$path]:-${path_pkg[${path#/usr}]:-${path_pkg[/usr${path#/usr}]:-}}}
    case "$pkg" in
      libc6|libgcc-s1) continue ;;                # in every Debian image
      libasan*|libubsan*|liblsan*) continue ;;    # sanitizer builds only
    esac
    if [ -z "$pkg" ] || ! grep -qw -- "$pkg" <<<"$runtime"; then
      echo "# $lib ($path, package ${pkg:-unknown}, needed by${users[$lib]}) is not installed by the runtime stage"
      rc=1
    fi
  done
  return $rc
}
if ls "$SS_BIN"/streamscore-* >/dev/null 2>&1; then
  check "runtime stage installs every library the built services link (objdump NEEDED -> dpkg -S)" runtime_libs_ok
else
  skip "runtime stage installs every library the built services link" "no built services in $SS_BIN (run make first)"
fi
check ".dockerignore keeps .git and build outputs out of the context" \
  bash -c 'grep -qx ".git" .dockerignore && grep -qx "build/" .dockerignore && grep -qx "build-san/" .dockerignore'

# ------------------------------------------------------------ the services under the deployment's environment
# No engine runs the images here, so run the built binaries as the containers
# would: the compose environment (its /app paths mapped onto the repository,
# kafka/redis onto devkafka and redis-server), then the compose healthcheck
# command itself, /metrics through promtool, and SIGTERM within the grace period.
compose_env_for() {  # $1 = service: NAME=VALUE lines for it, from docker-compose.yml
  $PY - "$1" "$KAFKA_BROKERS" "$REDIS_URL" "$SS_TMP" <<'EOF'
import sys, yaml
svc, brokers, redis_url, tmp = sys.argv[1:5]
c = yaml.safe_load(open("docker-compose.yml"))
env = dict(c["services"][svc].get("environment") or {})
for k, v in env.items():
    v = str(v)
    if v.startswith("${") and ":-" in v:        # ${VAR:-default} -> default
        v = v[v.index(":-") + 2:-1]
    v = v.replace("kafka:9092", brokers).replace("redis://redis:6379", redis_url)
    v = v.replace("/app/offline", f"{tmp}/offline-{svc}").replace("/app/", "")
    if k.endswith("_URL") and v.startswith("http://"):
        v = "http://127.0.0.1:1"                  # peers are not started here
    print(f"{k}={v}")
EOF
}
compose_healthcheck() {  # the compose healthcheck's shell command, for port $1
  $PY -c 'import sys, yaml; c = yaml.safe_load(open("docker-compose.yml"));
print(c["x-service"]["healthcheck"]["test"][-1].replace("127.0.0.1/8080", "127.0.0.1/" + sys.argv[1]))' "$1"
}
service_smoke() {  # $1 = service
  local svc=$1 port hc pid t0 rc grace
  port=$(ss_free_port)
  mapfile -t envs < <(compose_env_for "$svc")
  ss_spawn "smoke-$svc" env "${envs[@]}" HTTP_BIND=127.0.0.1 HTTP_PORT="$port" "$SS_BIN/streamscore-$svc"
  pid=$(eval echo "\$SS_PID_smoke_$svc")
  hc=$(compose_healthcheck "$port")
  ss_wait_for 20 bash -c "$hc" || { echo "# $svc: compose healthcheck never passed"; tail -5 "$SS_TMP/smoke-$svc.log" | sed 's/^/#   /'; return 1; }
  curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$SS_TMP/metrics-$svc.txt" || { echo "# $svc: no /metrics"; return 1; }
  quiet promtool check metrics <"$SS_TMP/metrics-$svc.txt" || { echo "# $svc: /metrics fails promtool check metrics"; return 1; }
  grace=$($PY -c 'import yaml; print(int(yaml.safe_load(open("docker-compose.yml"))["x-service"]["stop_grace_period"].rstrip("s")))')
  t0=$SECONDS; kill -TERM "$pid"
  for _ in $(seq $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "# $svc: still running ${grace}s after SIGTERM"; return 1; fi
  wait "$pid"; rc=$?
  [ $rc -eq 0 ] || { echo "# $svc: exit status $rc after SIGTERM"; tail -5 "$SS_TMP/smoke-$svc.log" | sed 's/^/#   /'; return 1; }
  diag "$svc: healthy, $(grep -c '^[a-z]' "$SS_TMP/metrics-$svc.txt") samples, stopped $((SECONDS - t0))s after SIGTERM"
}
# The model-init scripts (compose service, k8s dev Job) against the real
# scorer CLI: each promotes the newest bundle into an empty registry and
# leaves an active version alone.
model_init_ok() {  # $1 = compose | k8s
  local script newest out d run
  if [ "$1" = compose ]; then  # compose escapes $ as $$
    script=$($PY -c 'import yaml; print(yaml.safe_load(open("docker-compose.yml"))["services"]["model-init"]["command"][0])' | sed 's/\$\$/$/g')
  else
    script=$($PY -c 'import yaml; j = [d for d in yaml.safe_load_all(open("k8s/overlays/dev/model-init.yaml")) if d][0]
print(j["spec"]["template"]["spec"]["containers"][0]["args"][0])')
  fi
  script=${script//\/usr\/local\/bin\/streamscore-scorer/$SS_BIN/streamscore-scorer}
  for d in models/card-fraud/*/; do d=${d%/}; d=${d##*/}; [[ $d == *.tmp ]] || newest=$(printf '%s\n%s\n' "${newest:-}" "$d" | sort -V | tail -n 1); done
  redis-cli -u "$REDIS_URL" flushall >/dev/null || return 1
  for run in 1 2; do
    out=$(env REDIS_URL="$REDIS_URL" MODEL_STORE=models MODEL_NAME=card-fraud bash -c "$script" 2>&1) ||
      { echo "# $1 run $run failed: $out" | head -5; return 1; }
    grep -qx "active $newest" <<<"$out" || { echo "# $1 run $run: $newest is not active: $out"; return 1; }
    if [ $run = 2 ] && grep -q '^promoted' <<<"$out"; then echo "# $1 run 2 promoted again"; return 1; fi
  done
}
if ls "$SS_BIN"/streamscore-* >/dev/null 2>&1 && [ -x "$SS_BIN/devkafka" ] && have redis-server; then
  if ss_start_redis && ss_start_kafka 2; then
    for svc in "${SERVICES[@]}"; do
      if [ -x "$SS_BIN/streamscore-$svc" ]; then
        check "$svc runs with the compose environment: compose healthcheck passes, /metrics lints clean, SIGTERM exits 0 within stop_grace_period" service_smoke "$svc"
      fi
    done
    if [ -x "$SS_BIN/streamscore-scorer" ] && [ -d models/card-fraud ]; then
      check "compose model-init promotes the newest bundle once and leaves an active version alone (real scorer CLI)" model_init_ok compose
      check "k8s dev model-init Job script does the same" model_init_ok k8s
    else
      skip "compose model-init against the scorer CLI" "no scorer binary or no models/card-fraud"
    fi
  else
    not_ok "devkafka and redis-server start for the service smoke checks"
  fi
else
  skip "services under the deployment environment" "no built services/devkafka in $SS_BIN or no redis-server (run make first)"
fi

# ------------------------------------------------------------ docker-compose
compose_cli=()
if docker compose version >/dev/null 2>&1; then compose_cli=(docker compose)
elif have docker-compose; then compose_cli=(docker-compose); fi
if [ ${#compose_cli[@]} -gt 0 ]; then
  check "docker-compose.yml validates with '${compose_cli[*]} config' (all profiles)" \
    "${compose_cli[@]}" --profile load --profile registry -f docker-compose.yml config -q
else
  skip "docker-compose.yml validates with 'docker compose config'" "no compose client (docker-compose package) installed"
fi
compose_ok() {
  $PY - <<'EOF'
import sys, yaml
c = yaml.safe_load(open("docker-compose.yml"))
s = c["services"]
bad = []
for need in ["kafka", "kafka-init", "redis", "prometheus", "grafana", "loadgen"]:
    if need not in s:
        bad.append(f"no service {need}")
k = s.get("kafka", {}).get("environment", {})
if "controller" not in str(k.get("KAFKA_PROCESS_ROLES", "")) or "KAFKA_CONTROLLER_QUORUM_VOTERS" not in k:
    bad.append("kafka is not in KRaft mode")
import base64, re as _re
def cluster_id_ok(v):  # KRaft: a base64url UUID, 16 bytes, 22 characters
    v = _re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", str(v))
    try:
        return len(v) == 22 and len(base64.urlsafe_b64decode(v + "==")) == 16
    except ValueError:
        return False
if not cluster_id_ok(k.get("CLUSTER_ID", "")):
    bad.append(f"kafka CLUSTER_ID {k.get('CLUSTER_ID')!r} is not a 16-byte base64url UUID")
dev = [d for d in yaml.safe_load_all(open("k8s/overlays/dev/kafka.yaml")) if d and d["kind"] == "StatefulSet"]
for e in dev[0]["spec"]["template"]["spec"]["containers"][0]["env"]:
    if e["name"] == "CLUSTER_ID" and not cluster_id_ok(e["value"]):
        bad.append(f"k8s dev kafka CLUSTER_ID {e['value']!r} is not a 16-byte base64url UUID")
if "load" not in s.get("loadgen", {}).get("profiles", []):
    bad.append("loadgen is not behind the 'load' profile")
init_cmd = " ".join(s.get("kafka-init", {}).get("command", []))
for t in ["events.ingest", "events.raw", "events.dlq", "features.enriched", "scores", "labels", "monitoring.drift"]:
    if t not in init_cmd:
        bad.append(f"kafka-init does not create {t}")
for svc in ["ingest", "features", "scorer", "drift", "gateway"]:
    d = s.get(svc)
    if not d:
        bad.append(f"no service {svc}"); continue
    env = d.get("environment", {})
    for var in ["KAFKA_BROKERS", "REDIS_URL", "SCHEMA_DIR", "HTTP_PORT", "TOPIC_INGEST", "TOPIC_DLQ"] + \
            (["GROUP_ID"] if svc != "gateway" else ["SCORER_URL", "DRIFT_URL", "API_KEYS"]):
        if var not in env:
            bad.append(f"{svc}: no {var}")
    if env.get("KAFKA_BROKERS") != "kafka:9092":
        bad.append(f"{svc}: KAFKA_BROKERS is not the compose kafka")
    if d.get("build", {}).get("args", {}).get("SERVICE") != svc:
        bad.append(f"{svc}: build arg SERVICE is not {svc}")
    hc = " ".join(d.get("healthcheck", {}).get("test", []))
    if "/healthz" not in hc:
        bad.append(f"{svc}: healthcheck does not probe /healthz")
    dep = d.get("depends_on", {})
    if dep.get("kafka-init", {}).get("condition") != "service_completed_successfully" or \
       dep.get("redis", {}).get("condition") != "service_healthy":
        bad.append(f"{svc}: does not wait for topics and a healthy redis")
    if not d.get("read_only"):
        bad.append(f"{svc}: root filesystem is writable")
prom = yaml.safe_load(open("monitoring/prometheus/prometheus.yml"))
jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
for svc in ["ingest", "features", "scorer", "drift", "gateway"]:
    j = jobs.get(f"streamscore-{svc}")
    if not j or f"{svc}:8080" not in j["static_configs"][0]["targets"]:
        bad.append(f"prometheus does not scrape {svc}:8080 as job streamscore-{svc}")
vols = " ".join(" ".join(v if isinstance(v, str) else "" for v in s["grafana"].get("volumes", [])) for _ in [0])
for need in ["monitoring/grafana/provisioning", "monitoring/grafana/dashboards"]:
    if need not in vols:
        bad.append(f"grafana does not mount {need}")
for b in bad:
    print("compose: " + b)
sys.exit(1 if bad else 0)
EOF
}
check "docker-compose.yml: KRaft Kafka, topic init, redis, prometheus scraping all five, grafana provisioned, services wired with env and /healthz" compose_ok
check "compose prometheus.yml passes promtool check config" quiet promtool check config monitoring/prometheus/prometheus.yml

# ------------------------------------------------------------ YAML lint
mapfile -t YAML_FILES < <(find docker-compose.yml k8s monitoring -name '*.y*ml'; ls helm/streamscore/*.yaml)
if have yamllint; then
  check "yamllint: compose, k8s, monitoring, chart values" quiet yamllint -s -d \
    '{extends: default, rules: {line-length: {max: 200}, document-start: disable, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, comments-indentation: disable, braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}, indentation: {spaces: 2, indent-sequences: whatever}}}' \
    "${YAML_FILES[@]}"
else
  skip "yamllint" "yamllint not installed"
fi

# ------------------------------------------------------------ Kubernetes
node_wait
mkdir -p "$SS_TMP/ts"
cat >"$SS_TMP/ts/tsconfig.json" <<EOF
{"compilerOptions": {"strict": true, "noEmit": true, "module": "commonjs", "moduleResolution": "node",
  "target": "es2020", "skipLibCheck": true, "types": [], "baseUrl": ".",
  "paths": {"*": ["$NODE_MODULES/*"]}},
 "include": ["*.ts"]}
EOF
kustomize_major() {  # kustomize embedded in kubectl: "Kustomize Version: v5.5.0" (kubectl >= 1.24)
  kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p'
}
if have kubectl && [ "$(kustomize_major)" -ge 4 ] 2>/dev/null; then
  for o in base overlays/dev overlays/prod; do
    name=${o#overlays/}
    if kubectl kustomize "k8s/$o" >"$SS_TMP/k8s-$name.yaml" 2>"$SS_TMP/k8s-$name.err"; then
      ok "kubectl kustomize k8s/$o builds ($(grep -c '^kind:' "$SS_TMP/k8s-$name.yaml") objects)"
    else
      not_ok "kubectl kustomize k8s/$o builds: $(head -c 300 "$SS_TMP/k8s-$name.err")"
    fi
    check "k8s/$o: probes, resources, non-root/read-only, PDB, HPA, Service per Deployment; NetworkPolicies" \
      $PY k8s/hack/check_manifests.py --overlay "$name" <"$SS_TMP/k8s-$name.yaml"
    $PY -c 'import sys,yaml,json; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)' \
      <"$SS_TMP/k8s-$name.yaml" >"$SS_TMP/k8s-$name.json"
    if [ -z "$NODE_WHY" ]; then
      check "k8s/$o: every object validates against the Kubernetes OpenAPI schema" \
        quiet node k8s/hack/validate_schema.js "$NODE_MODULES" "$SS_TMP/k8s-$name.json"
      $PY k8s/hack/to_typescript.py "$SS_TMP/k8s-$name.json" "$SS_TMP/ts/k8s-$name.ts"
    else
      skip "k8s/$o: OpenAPI schema validation" "$NODE_WHY"
    fi
  done
  # strict typing: unknown fields, types, enums, required fields (tsc --strict)
  if [ -z "$NODE_WHY" ]; then
    check "k8s base, dev, prod type-check strictly against the Kubernetes API types (unknown fields rejected)" \
      quiet "$NODE_MODULES/.bin/tsc" -p "$SS_TMP/ts/tsconfig.json"
  fi
  # components on top of base (relative paths: kustomize refuses absolute ones)
  mkdir -p "$SS_TMP/kc"
  rel=$(realpath --relative-to="$SS_TMP/kc" "$SS_ROOT/k8s")
  printf 'resources:\n  - %s/base\ncomponents:\n  - %s/components/lag-autoscaling\n  - %s/components/servicemonitor\n' \
    "$rel" "$rel" "$rel" >"$SS_TMP/kc/kustomization.yaml"
  # shellcheck disable=SC2016  # $1 expands in the inner shell
  check "components lag-autoscaling + servicemonitor build on base (External lag metric on the 3 scaled consumers' HPAs)" \
    bash -c '[ "$(kubectl kustomize "$1" | grep -c "name: streamscore_consumer_lag")" -eq 3 ]' _ "$SS_TMP/kc"
else
  diag "kubectl with kustomize >= v4 is missing (Debian bookworm's kubernetes-client is 1.20 with kustomize v2, too old for k8s/: labels, components); install kubectl >= 1.24"
  skip "kubectl kustomize k8s/base, overlays and components" "no kubectl with kustomize >= v4"
fi

# ------------------------------------------------------------ Prometheus rules
check "promtool check rules monitoring/rules/*.yml" quiet promtool check rules monitoring/rules/*.yml
check "promtool test rules: alert unit tests pass" quiet promtool test rules monitoring/tests/rules_test.yml
# The unit tests must be able to fail: raise the lag threshold, break the DLQ
# ratio and the drift threshold; each mutant must be caught.
mutant_fails() {  # $1 = sed expression on alerts.yml
  rm -rf "$SS_TMP/mut" && mkdir -p "$SS_TMP/mut" && cp -r monitoring/rules monitoring/tests "$SS_TMP/mut/"
  sed -i "$1" "$SS_TMP/mut/rules/alerts.yml"
  cmp -s monitoring/rules/alerts.yml "$SS_TMP/mut/rules/alerts.yml" && return 1  # mutation did nothing
  ! promtool test rules "$SS_TMP/mut/tests/rules_test.yml" >/dev/null 2>&1
}
check "rule tests catch a mutated lag threshold (10000 -> 20000)" mutant_fails 's/ss_kafka_consumer_lag:sum > 10000/ss_kafka_consumer_lag:sum > 20000/'
check "rule tests catch a mutated drift threshold (PSI 0.25 -> 0.5)" mutant_fails 's/feature!~"__.+__"}) > 0.25/feature!~"__.+__"}) > 0.5/'
check "rule tests catch a dropped 'for' on ServiceDown" mutant_fails '/alert: StreamscoreServiceDown/,/for:/{s/for: 2m/for: 0m/}'

if [ -z "$NODE_WHY" ]; then
  $PY monitoring/prometheusrule.py streamscore | $PY -c 'import sys,yaml,json; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)' >"$SS_TMP/prule.json"
  mkdir -p "$SS_TMP/ts-rule" && cp "$SS_TMP/ts/tsconfig.json" "$SS_TMP/ts-rule/"
  $PY k8s/hack/to_typescript.py "$SS_TMP/prule.json" "$SS_TMP/ts-rule/prule.ts"
  prule_ok() {
    quiet node k8s/hack/validate_schema.js "$NODE_MODULES" "$SS_TMP/prule.json" &&
      quiet "$NODE_MODULES/.bin/tsc" -p "$SS_TMP/ts-rule/tsconfig.json"
  }
  check "monitoring/prometheusrule.py emits a PrometheusRule valid against the operator's schema and types" prule_ok
else
  skip "PrometheusRule schema validation" "$NODE_WHY"
fi
check "helm/streamscore/rules is an identical copy of monitoring/rules" diff -r monitoring/rules helm/streamscore/rules

# ------------------------------------------------------------ Grafana
check "grafana dashboards are fresh (monitoring/grafana/generate.py --check)" $PY monitoring/grafana/generate.py --check
strict=""
all_services=1
for s in "${SERVICES[@]}"; do [ -d "services/$s" ] || all_services=0; done
[ $all_services = 1 ] && strict=--strict-code
if $PY monitoring/check_metrics.py . "$SS_TMP/dash-rules.yml" $strict >"$SS_TMP/metrics.out" 2>&1; then
  ok "dashboards parse; recording rules they use exist; ss_* metrics match the code${strict:+ (strict)}"
else
  not_ok "dashboards/metrics cross-check"
fi
sed 's/^/# /' "$SS_TMP/metrics.out" | grep -v '^# # [0-9]' | head -30
tail -1 "$SS_TMP/metrics.out"
check "every dashboard PromQL expression parses (promtool)" quiet promtool check rules "$SS_TMP/dash-rules.yml"
if [ -z "$NODE_WHY" ]; then
  mkdir -p "$SS_TMP/ts-dash" && cp "$SS_TMP/ts/tsconfig.json" "$SS_TMP/ts-dash/"
  $PY monitoring/grafana/to_typescript.py "$SS_TMP/ts-dash/dashboards.ts" monitoring/grafana/dashboards/*.json
  check "grafana dashboards type-check strictly against @grafana/schema's Dashboard (unknown fields rejected)" \
    quiet "$NODE_MODULES/.bin/tsc" -p "$SS_TMP/ts-dash/tsconfig.json"
else
  skip "grafana dashboards against @grafana/schema" "$NODE_WHY"
fi
check "grafana provisioning files parse and point at the dashboards dir" $PY -c '
import yaml
ds = yaml.safe_load(open("monitoring/grafana/provisioning/datasources/prometheus.yml"))
db = yaml.safe_load(open("monitoring/grafana/provisioning/dashboards/streamscore.yml"))
assert ds["datasources"][0]["type"] == "prometheus"
assert db["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
'

# ------------------------------------------------------------ Helm
base_kinds=$( (grep -h '^kind:' k8s/base/*.yaml | grep -v Kustomization; echo "kind: ConfigMap") | awk '{print $2}' | sort -u | paste -sd, -)
check "helm chart: Chart.yaml, values (+prod example) valid against values.schema.json, templates balanced, .Values paths exist, same kinds as k8s/base" \
  $PY helm/check_chart.py helm/streamscore helm/streamscore/values-prod.example.yaml ${base_kinds:+--kinds "$base_kinds"}
if have helm; then
  check "helm lint --strict" helm lint --strict helm/streamscore
  helm template streamscore helm/streamscore -f helm/streamscore/values-prod.example.yaml >"$SS_TMP/helm.yaml" 2>&1
  check "helm template (prod values) passes the k8s policy checks" \
    $PY k8s/hack/check_manifests.py --overlay prod <"$SS_TMP/helm.yaml"
else
  diag "helm is not installed (not in Debian bookworm or npm): the chart was NOT rendered here; run 'helm lint --strict helm/streamscore' where helm exists"
fi

# ------------------------------------------------------------ Terraform
if [ -z "$NODE_WHY" ]; then
  mkdir -p "$SS_TMP/tfjson"
  tf_parse() {  # one node process parses every file (hcl2json is a wasm module: slow to load)
    find terraform -name '*.tf' | sort | node -e '
      const h = require(process.argv[1] + "/@cdktf/hcl2json"), fs = require("fs");
      const files = fs.readFileSync(0, "utf8").split("\n").filter(Boolean);
      (async () => {
        let bad = 0;
        for (const f of files) {
          try {
            const r = await h.parse(f, fs.readFileSync(f, "utf8"));
            fs.writeFileSync(process.argv[2] + "/" + f.replace(/^terraform\//, "").replace(/\//g, "__") + ".json",
                             JSON.stringify(r));
          } catch (e) { console.log("# " + String(e)); bad++; }
        }
        process.exit(bad ? 1 : 0);
      })();' "$NODE_MODULES" "$SS_TMP/tfjson"
  }

  check "terraform: every .tf parses with hcl2json ($(find terraform -name '*.tf' | wc -l) files)" tf_parse
  check "terraform: var/local/module/resource references and module inputs/outputs resolve" \
    $PY terraform/check_refs.py "$SS_TMP/tfjson" terraform
else
  skip "terraform parses with hcl2json" "$NODE_WHY"
fi
if have terraform; then
  check "terraform fmt -check -recursive" bash -c 'terraform fmt -check -recursive terraform >/dev/null 2>&1'
else
  diag "terraform not installed: fmt check skipped"
fi
diag "terraform validate/plan need provider plugins from the Terraform registry (unreachable here): not run"

# ------------------------------------------------------------ cross-artefact consistency
consistent() {
  $PY - <<'EOF'
import re, sys, yaml
bad = []
compose_env = set(yaml.safe_load(open("docker-compose.yml"))["x-service-env"])
kust = yaml.safe_load(open("k8s/base/kustomization.yaml"))
gen = next((g for g in kust.get("configMapGenerator", []) if g["name"] == "streamscore-config"), None)
k8s_cm = gen and {"data": dict(l.split("=", 1) for l in gen["literals"])}
helm_cm = set(re.findall(r"^  ([A-Z][A-Z0-9_]+):", open("helm/streamscore/templates/configmap.yaml").read(), re.M))
helm_cm |= {"REDIS_URL"}  # inside an if/else
if k8s_cm is None:
    bad.append("no streamscore-config generator in k8s/base")
else:
    k8s_env = set(k8s_cm["data"])
    for name, envs in (("k8s/base", k8s_env), ("helm", helm_cm)):
        for v in sorted(compose_env - envs):
            bad.append(f"{name} config lacks {v} (set in docker-compose)")
    for k, v in k8s_cm["data"].items():
        if k.startswith("TOPIC_"):
            comp = yaml.safe_load(open("docker-compose.yml"))["x-service-env"][k]
            if comp != v:
                bad.append(f"{k}: compose {comp} vs k8s {v}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
check "compose, k8s and helm set the same environment (names and topic defaults)" consistent
if [ $all_services = 1 ] && [ -s "$SS_TMP/k8s-base.json" ] && [ -s "$SS_TMP/k8s-prod.json" ]; then
  check "every variable compose/k8s/helm set is read by the code (per service where set per service); required ones are set" \
    quiet $PY k8s/hack/check_env.py . "$SS_TMP/k8s-base.json" "$SS_TMP/k8s-prod.json"
else
  skip "deployment environment vs the services' config tables" "services or kustomize output not available in this tree"
fi

ss_done
