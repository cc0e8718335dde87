#!/usr/bin/env bash
# Gateway benchmark: wrk against POST /v1/score (gateway -> scorer over the
# keep-alive pool -> features peek in Redis + card-fraud XGBoost model, and the
# event produced to events.ingest) vs wrk against a bare libevent "hello"
# server (build/bench/gateway), same machine, same run, same request.
# Phases: hello at full speed; the gateway in front of the hello server (the
# gateway's own cost); the gateway in front of the real scorer at full speed
# and paced to about RATE req/s (wrk's per-connection delay, exponentially
# distributed, for the latency goal); the gateway in front of hello paced the
# same way.
# Prints req/s, p50 and p99 of each, then the throughput ratio LAST.
# Builds nothing: run `make all` first.
#   bench/gateway/run.sh [SECONDS] [CONNECTIONS] [RATE]
#   BENCH_PACE=constant bench/gateway/run.sh ...   (constant pauses, for comparison)
set -uo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
CONNS=${2:-32}
RATE=${3:-5000}
BUILD=${BUILD:-build}
export BUILD
. tests/lib.sh >/dev/null

for b in "$SS_BUILD/bench/gateway" "$SS_BIN/streamscore-gateway" "$SS_BIN/streamscore-scorer" "$SS_BIN/devkafka"; do
  [ -x "$b" ] || { echo "gateway bench: $b missing, run make all" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "gateway bench: wrk missing (scripts/deps.sh)" >&2; exit 1; }

export LOG_LEVEL=warn SCHEMA_DIR="$SS_ROOT/schemas" FEATURES_FILE="$SS_ROOT/features/card_fraud.json"
export MODEL_STORE="$SS_TMP/models" MODEL_NAME=card-fraud
OMP_NUM_THREADS=1 /usr/bin/python3 services/scorer/tests/make_bundles.py "$MODEL_STORE" card-fraud \
  >"$SS_TMP/bundles.log" 2>&1 || { echo "gateway bench: model fixture failed" >&2; exit 1; }
ss_start_redis >/dev/null || exit 1
ss_start_kafka 4 >/dev/null || exit 1

SCORER_PORT=$(ss_free_port)
ss_spawn scorer env HTTP_PORT="$SCORER_PORT" HTTP_BIND=127.0.0.1 "$SS_BIN/streamscore-scorer"
"$SS_BIN/streamscore-scorer" promote v1 >/dev/null
ss_wait_for 20 ss_http_ok "http://127.0.0.1:$SCORER_PORT/readyz" || { echo "scorer not ready" >&2; exit 1; }

KEY=bench-$RANDOM$RANDOM
GW_PORT=$(ss_free_port)
ss_spawn gateway env HTTP_PORT="$GW_PORT" HTTP_BIND=127.0.0.1 \
  API_KEYS="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) score bench 1e9 1e9" \
  SCORER_URL="http://127.0.0.1:$SCORER_PORT" SCORER_POOL=16 HTTP_MAX_CONNECTIONS=4096 \
  "$SS_BIN/streamscore-gateway"
ss_wait_for 20 ss_http_ok "http://127.0.0.1:$GW_PORT/readyz" || { echo "gateway not ready" >&2; exit 1; }

ss_spawn hello "$SS_BUILD/bench/gateway" --port 0 --port-file "$SS_TMP/hello.port"
ss_wait_for 10 test -s "$SS_TMP/hello.port"
HELLO_PORT=$(cat "$SS_TMP/hello.port")

# The gateway's own cost: a second gateway whose "scorer" is the hello server
# (auth, JSON checks, shared validator, keep-alive hop, Kafka produce).
GW2_PORT=$(ss_free_port)
ss_spawn gateway2 env HTTP_PORT="$GW2_PORT" HTTP_BIND=127.0.0.1 \
  API_KEYS="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) score bench 1e9 1e9" \
  SCORER_URL="http://127.0.0.1:$HELLO_PORT" SCORER_POOL=16 HTTP_MAX_CONNECTIONS=4096 \
  "$SS_BIN/streamscore-gateway"
ss_wait_for 20 ss_http_ok "http://127.0.0.1:$GW2_PORT/readyz" || { echo "gateway2 not ready" >&2; exit 1; }

# One unique card-fraud event per request (ids per wrk thread); optional pacing.
cat >"$SS_TMP/score.lua" <<'EOF'
local n, tid = 0, 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) tid = tonumber(wrk.thread:get("tid")) or 0; math.randomseed(tid * 7919 + os.time()) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
local now = os.getenv("BENCH_NOW")
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
request = function()
  n = n + 1
  local body = string.format('{"event_id":"b-%d-%d-%s","event_time":%s,"card_id":"c-%d","merchant_id":"m-%d",' ..
    '"amount":%d.5,"currency":"EUR","merchant_category":"5411","merchant_country":"FR","channel":"ECOM"}',
    tid, n, os.getenv("BENCH_RUN"), now, n % 1000, n % 50, n % 700)
  return wrk.format(nil, "/v1/score", nil, body)
end
-- exponential think time with mean `pace`: independent clients, Poisson-like
-- arrivals. A constant pause phase-locks the connections into bursts of
-- CONNS requests at once (one hiccup synchronises them and equal pauses keep
-- them so), which measures the burst, not the rate.
if pace > 0 and os.getenv("BENCH_PACE") == "constant" then delay = function() return math.floor(pace + 0.5) end
elseif pace > 0 then delay = function() return math.floor(-math.log(1 - math.random()) * pace + 0.5) end end
EOF

# run NAME PORT [DELAY_MS]: prints "NAME rps p50_ms p99_ms non2xx"
run() {
  local name=$1 port=$2 delay=${3:-0}
  BENCH_KEY=$KEY BENCH_NOW=$(($(date +%s) * 1000)) BENCH_RUN=$name BENCH_DELAY_MS=$delay BENCH_PACE=${BENCH_PACE:-exp} \
    wrk -t2 -c"$CONNS" -d"${DUR_OVERRIDE:-$DUR}s" --latency -s "$SS_TMP/score.lua" "http://127.0.0.1:$port" \
    >"$SS_TMP/wrk-$name.txt" 2>&1
  /usr/bin/python3 - "$name" "$SS_TMP/wrk-$name.txt" <<'EOF'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(s):
    v, u = re.match(r"([\d.]+)(us|ms|s)", s).groups()
    return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
err = re.search(r"Socket errors:.*", text)
print(f"{name} {rps:.0f} {p50:.3f} {p99:.3f} {bad.group(1) if bad else 0} {'(' + err.group(0) + ')' if err else ''}")
EOF
}

# warm the pool and the scorer
BENCH_KEY=$KEY BENCH_NOW=$(($(date +%s) * 1000)) BENCH_RUN=warm wrk -t1 -c4 -d2s -s "$SS_TMP/score.lua" \
  "http://127.0.0.1:$GW_PORT" >/dev/null 2>&1

read -r _ h_rps h_p50 h_p99 h_bad h_err < <(run hello "$HELLO_PORT")
read -r _ o_rps o_p50 o_p99 o_bad o_err < <(run gwhello "$GW2_PORT")
read -r _ g_rps g_p50 g_p99 g_bad g_err < <(run gateway "$GW_PORT")
# pace PORT: mean per-connection pause (ms) so that CONNS connections offer
# about RATE req/s. wrk waits `delay` (exponentially distributed, see the
# script) after each answer, so one connection runs at 1/(pause + latency):
# two 3 s calibration runs measure the latency at the current pause and
# correct the pause for it.
pace() {
  local d rps
  d=$(/usr/bin/python3 -c "print(round($CONNS * 1000 / $RATE, 2))")
  for _ in 1 2; do # the second round corrects the first's estimate
    read -r _ rps _ < <(DUR_OVERRIDE=3 run calib "$1" "$d")
    d=$(/usr/bin/python3 -c "
c, r, d, got = $CONNS, $RATE, $d, max($rps, 1)
lat = c * 1000 / got - d
print(max(0.5, round(c * 1000 / r - lat, 2)))") # a mean: each pause is drawn and rounded to ms
  done
  echo "$d"
}
read -r _ r_rps r_p50 r_p99 r_bad r_err < <(run paced "$GW_PORT" "$(pace "$GW_PORT")")
read -r _ q_rps q_p50 q_p99 q_bad q_err < <(run pacedhello "$GW2_PORT" "$(pace "$GW2_PORT")")

echo "gateway bench: ${DUR}s per phase, wrk -t2 -c$CONNS, POST /v1/score (card-fraud v1, 30 trees) on $(nproc) cores"
printf '%-34s %9s req/s  p50 %7.3f ms  p99 %7.3f ms  non-2xx %s %s\n' \
  "hello (bare evhttp)" "$h_rps" "$h_p50" "$h_p99" "$h_bad" "$h_err" \
  "gateway -> hello (gateway's cost)" "$o_rps" "$o_p50" "$o_p99" "$o_bad" "$o_err" \
  "gateway -> scorer (max)" "$g_rps" "$g_p50" "$g_p99" "$g_bad" "$g_err" \
  "gateway -> scorer (~$RATE req/s)" "$r_rps" "$r_p50" "$r_p99" "$r_bad" "$r_err" \
  "gateway -> hello (~$RATE req/s)" "$q_rps" "$q_p50" "$q_p99" "$q_bad" "$q_err"
echo "goal: ratio >= 0.5; p99 <= 2 ms at $RATE req/s (measured $r_rps req/s, p99 $r_p99 ms)"
/usr/bin/python3 -c "print('ratio: %.2f' % ($g_rps / $h_rps))"
