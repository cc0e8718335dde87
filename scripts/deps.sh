#!/usr/bin/env bash
# Install the Debian packages streamscore needs to build, test and run the
# demo. Idempotent: installs only what is missing; as root or through sudo.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang-format
  librdkafka-dev libavro-dev libevent-dev libhiredis-dev libjansson-dev libssl-dev
  libcmocka-dev libxgboost-dev
  redis-server redis-tools kcat wrk curl procps iproute2 jq openssl prometheus python3-yaml
  python3-avro python3-xgboost python3-sklearn python3-numpy python3-scipy
  python3-confluent-kafka
)

# Deployment checks (tests/test_deploy.sh): promtool (in Debian's prometheus
# package), yamllint, the docker-compose client for `docker-compose config`
# (no engine needed), PyYAML and jsonschema for the manifest and Helm values
# checks.
PKGS+=(prometheus yamllint docker-compose python3-yaml python3-jsonschema)
# npm installs @cdktf/hcl2json and kubernetes-models for those checks. The
# image may ship NodeSource's nodejs (npm bundled); Debian's npm conflicts
# with it, so fall back to Debian's packages only when there is no npm.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
# kubectl (kustomize >= v4) comes with the machine image; Debian bookworm's
# kubernetes-client is 1.20 with kustomize v2, too old for k8s/ (labels,
# components), so it is not installed here and tests/test_deploy.sh skips the
# kustomize checks, saying why, when kubectl is missing or too old.

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
