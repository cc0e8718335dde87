# Integration-test helpers, sourced by test_*.sh scripts.
# Start real processes (redis-server, devkafka, services) on free ports and
# clean them up on exit, whether the test passed or failed. TAP output:
# ok/not ok lines are counted by tests/run.
set -u
SS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) SS_BUILD=$BUILD ;; *) SS_BUILD="$SS_ROOT/$BUILD" ;; esac
SS_BIN="$SS_BUILD/bin"
SS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ss-test.XXXXXX")
SS_PIDS=()
SS_TESTNUM=0
SS_FAILS=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LOG_LEVEL=${LOG_LEVEL:-info}

ss_cleanup() {
  local pid
  for pid in "${SS_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${SS_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "${SS_KEEP_TMP:-0}" = 1 ] || [ "$SS_FAILS" -gt 0 ]; then
    echo "# logs kept in $SS_TMP" >&2
    for f in "$SS_TMP"/*.log; do [ -f "$f" ] && { echo "# ---- $f" >&2; tail -n 30 "$f" >&2; }; done
    # a digest last: whoever reads only the end of the output sees it
    echo "# ---- warnings and errors (last 3 per log)" >&2
    for f in "$SS_TMP"/*.log; do
      [ -f "$f" ] && grep -aE '"level":"(warn|error)"' "$f" | tail -n 3 | cut -c1-300 | sed "s|^|# ${f##*/}: |" >&2
    done
  else
    rm -rf "$SS_TMP"
  fi
}
trap ss_cleanup EXIT
trap 'exit 130' INT TERM

ok()     { SS_TESTNUM=$((SS_TESTNUM + 1)); echo "ok $SS_TESTNUM - $*"; }
not_ok() { SS_TESTNUM=$((SS_TESTNUM + 1)); SS_FAILS=$((SS_FAILS + 1)); echo "not ok $SS_TESTNUM - $*"; }
# check "description" command...: ok when the command succeeds
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
diag()   { echo "# $*"; }
ss_done() { [ "$SS_FAILS" -eq 0 ]; exit $?; }

ss_free_port() { "$SS_ROOT/tools/demo/free_port.py"; }

# ss_wait_for TIMEOUT_S command...: poll until the command succeeds
ss_wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# ss_spawn NAME command...: start in background, log to $SS_TMP/NAME.log, record pid in SS_PID_<NAME>
ss_spawn() {
  local name=$1; shift
  "$@" >"$SS_TMP/$name.log" 2>&1 &
  local pid=$!
  SS_PIDS+=("$pid")
  printf -v "SS_PID_${name//[-.]/_}" '%s' "$pid"
}

ss_start_redis() {
  REDIS_PORT=$(ss_free_port)
  ss_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$SS_TMP"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  export REDIS_URL REDIS_PORT
  ss_wait_for 10 redis-cli -p "$REDIS_PORT" ping || { echo "redis did not start" >&2; return 1; }
}
ss_stop_redis()  { kill -TERM "$SS_PID_redis" 2>/dev/null; wait "$SS_PID_redis" 2>/dev/null; }
ss_restart_redis() {
  ss_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$SS_TMP"
  ss_wait_for 10 redis-cli -p "$REDIS_PORT" ping
}

# ss_start_kafka [PARTITIONS] [BROKERS] [EXTRA_TOPIC[:PARTS]...]: devkafka with
# every topic of the project plus the extra ones
ss_start_kafka() {
  local parts=${1:-4} brokers=${2:-1} extra=() t
  shift 2 2>/dev/null || shift $#
  for t in "$@"; do extra+=(--topic "$t"); done
  rm -f "$SS_TMP/bootstrap"
  ss_spawn devkafka "$SS_BIN/devkafka" --brokers "$brokers" --partitions "$parts" \
    "${extra[@]}" --bootstrap-file "$SS_TMP/bootstrap"
  ss_wait_for 15 test -s "$SS_TMP/bootstrap" || { echo "devkafka did not start" >&2; return 1; }
  KAFKA_BROKERS=$(cat "$SS_TMP/bootstrap")
  export KAFKA_BROKERS
}
# fault injection on devkafka: all brokers down / up
ss_kafka_down() { kill -USR1 "$SS_PID_devkafka"; }
ss_kafka_up()   { kill -USR2 "$SS_PID_devkafka"; }

# ss_metric URL NAME: value of an unlabelled metric from a /metrics endpoint (0 if absent)
ss_metric() {
  curl -fsS --max-time 2 "$1" 2>/dev/null | awk -v n="$2" '$1 == n {print $2; found=1} END {if (!found) print 0}'
}

# ss_slowest URL: the slowest of 20 requests 0.1 s apart, in seconds (does
# the service's loop keep answering while something it waits for hangs?)
ss_slowest() {
  local worst=0 t
  for _ in $(seq 20); do
    t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "$1")
    worst=$(awk -v a="$worst" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
    sleep 0.1
  done
  echo "$worst"
}

# ss_http_ok URL: 2xx from curl
ss_http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }
