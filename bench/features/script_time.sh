#!/usr/bin/env bash
# Redis time per call of the features script (card-fraud definitions), read
# from redis-server's own INFO commandstats (usec_per_call of EVALSHA), for
# update and peek, for a new card on every call and on hot state
# (one card, merchant and device with 5,000 earlier events). This is the
# Redis-side cost behind bench/features (updates) and bench/gateway (peeks).
# Builds nothing: run `make all` first.
#   bench/features/script_time.sh [CALLS]   (default 20000 per line)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin="$BUILD/bench/features"
[ -x "$bin" ] || { echo "script_time: $bin missing, run make all" >&2; exit 1; }
n=${1:-20000}
defs=features/card_fraud.json
. bench/features/redis.sh
"$bin" --defs "$defs" --print-lua >"$tmp/script.lua"
mapfile -t args < <("$bin" --defs "$defs" --print-args)
# args: EVALSHA sha 1 <dedup key> <mode> <event id> <t> <now> <prefix> ... <ids> ...
[ "${args[0]}" = EVALSHA ] && [ "${args[4]}" = u ] || { echo "script_time: unexpected arguments" >&2; exit 1; }

# once MODE STATE: usec per EVALSHA of MODE (u|p) on STATE (empty|hot)
once() {
  local mode=$1 st=$2 a=("${args[@]}")
  redis-cli -p "$port" flushall >/dev/null
  redis-cli -p "$port" -x script load <"$tmp/script.lua" >/dev/null
  if [ "$st" = hot ]; then # 5,000 updates of the fixed card/merchant/device
    redis-benchmark -p "$port" -n 5000 -c 1 -P 16 -r 1000000000 "${a[@]}" >/dev/null 2>&1
  else # a new card for every call
    a[13]=card-__rand_int__
  fi
  a[4]=$mode
  redis-cli -p "$port" config resetstat >/dev/null
  redis-benchmark -p "$port" -n "$n" -c 1 -P 16 -r 1000000000 "${a[@]}" >/dev/null 2>&1
  redis-cli -p "$port" info commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),usec=[0-9]*,usec_per_call=\([0-9.]*\).*/\2 \1/p'
}
echo "definitions: $defs ($(grep -c '"agg"' $defs) features), $n calls per line, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
for mode in u p; do
  for st in empty hot; do
    read -r us calls < <(once $mode $st)
    [ "${calls:-0}" -ge "$n" ] || { echo "script_time: the script did not run ($calls calls)" >&2; exit 1; }
    printf '%-6s %-24s %7.1f us of Redis time per call\n' "$([ $mode = u ] && echo update || echo peek)" \
      "$([ $st = hot ] && echo 'hot card (5,000 before)' || echo 'a new card each call')" "$us"
  done
done
