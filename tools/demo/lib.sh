# Process helpers shared by demo.sh and make-starter-bundle: start processes
# with logs in $LOGS, stop them in order with SIGTERM (drain) before SIGKILL.
# Needs ROOT, BIN, RUN, LOGS set by the caller.
declare -A PID=()
# Children run in their own session (setsid), so a Ctrl-C in the terminal
# reaches only the demo script, which then stops them in order: producers
# first, Kafka and Redis last (a simultaneous SIGINT would take devkafka away
# while the services drain).
start() {  # start NAME command...: background, logs in $LOGS/NAME.log
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  PID[$name]=$!
  echo "$name $!" >>"$RUN/pids"
}
alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }
stop_one() {  # SIGTERM, wait up to 20 s for the drain, then SIGKILL
  local name=$1 pid=${PID[$1]:-}
  [ -z "$pid" ] && return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: $name did not stop in 20 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "PID[$name]"
}
STOPPED=0
INTERRUPTED=0

free_port() { $PY "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
wait_for() {  # wait_for SECONDS NAME command...
  local limit=$1 name=$2; shift 2
  local end=$((SECONDS + limit))
  while [ $SECONDS -lt $end ]; do
    "$@" >/dev/null 2>&1 && return 0
    alive "$name" || { echo "demo: $name exited; last lines of $LOGS/$name.log:" >&2; tail -n 20 "$LOGS/$name.log" >&2; return 1; }
    [ $INTERRUPTED = 1 ] && return 1
    sleep 0.2
  done
  echo "demo: $name not ready after ${limit}s (see $LOGS/$name.log)" >&2
  return 1
}
ready() { curl -fsS -o /dev/null --max-time 2 "$1/readyz"; }


# start_infra PARTITIONS: redis-server and devkafka on free ports; exports
# REDIS_URL, REDIS_PORT and KAFKA_BROKERS
start_infra() {
  REDIS_PORT=$(free_port)
  start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN"
  start devkafka "$BIN/devkafka" --brokers 1 --partitions "$1" --bootstrap-file "$RUN/bootstrap"
  wait_for 15 redis redis-cli -p "$REDIS_PORT" ping || return 1
  wait_for 20 devkafka test -s "$RUN/bootstrap" || return 1
  KAFKA_BROKERS=$(cat "$RUN/bootstrap")
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  export KAFKA_BROKERS REDIS_URL REDIS_PORT
}

# topic_count TOPIC [PARTITIONS]: records in a topic (sum of high watermarks)
topic_count() {
  local args=() p
  for p in $(seq 0 $((${2:-4} - 1))); do args+=(-t "$1:$p:-1"); done
  kcat -b "$KAFKA_BROKERS" -Q "${args[@]}" 2>/dev/null | awk '{s += $4} END {print s + 0}'
}
