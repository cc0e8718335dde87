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
