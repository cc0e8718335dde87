#!/usr/bin/env bash
# Feature state updates/s: the library's stream path (Avro event -> script
# arguments -> EVALSHA over async hiredis on libevent, pipelined -> vector)
# with the card-fraud definitions, vs its ceiling: redis-benchmark running the
# same script with the same arguments, pipelined, on the same redis-server.
# Builds nothing: run `make all` first. Prints the ratio last.
#   bench/features/run.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin="$BUILD/bench/features"
[ -x "$bin" ] || { echo "features: $bin missing, run make all" >&2; exit 1; }
n=${1:-100000}
. bench/features/redis.sh

defs=features/card_fraud.json
echo "definitions: $defs ($(grep -c '"agg"' $defs) features), $n events, 1 card (hot state)"

"$bin" --defs "$defs" --print-lua >"$tmp/script.lua"
mapfile -t args < <("$bin" --defs "$defs" --print-args)
# the ceiling, measured before and after the library (the better one counts:
# on a shared machine a noisy neighbour must not inflate the ratio)
ceiling_once() {
  redis-cli -p "$port" flushall >/dev/null
  redis-cli -p "$port" -x script load <"$tmp/script.lua" >/dev/null # exact bytes: same sha
  local rps applied
  rps=$(redis-benchmark -p "$port" -n "$n" -c 4 -P 32 -r 1000000000 -q "${args[@]}" 2>/dev/null |
    tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  applied=$(redis-cli -p "$port" --scan --pattern 'ss:d:*' | wc -l)
  [ "$applied" -ge $((n * 9 / 10)) ] || { echo "features: redis-benchmark did not run the script" >&2; exit 1; }
  echo "$rps"
}
c1=$(ceiling_once)
redis-cli -p "$port" flushall >/dev/null
ours=$("$bin" --redis "redis://127.0.0.1:$port" --defs "$defs" --events "$n" --window 128 | sed -n 's/^updates\/s: //p')
c2=$(ceiling_once)
ceiling=$(awk -v a="$c1" -v b="$c2" 'BEGIN { print (a > b ? a : b) }')
echo "library (ss_features_update, async hiredis, 128 in flight): $ours updates/s"
echo "ceiling (redis-benchmark EVALSHA, same script and arguments, -c 4 -P 32): $ceiling updates/s (runs: $c1, $c2)"
awk -v a="$ours" -v b="$ceiling" 'BEGIN { if (b > 0) printf "ratio: %.2f\n", a / b; else { print "ratio: n/a"; exit 1 } }'
