#!/usr/bin/env bash
# streamscore demo: the whole stack on this machine, fed by the load generator.
#
#   tools/demo/demo.sh [--duration S] [--rate EV/S] [--drift] [--seed N] [--invalid N]
#                      [--no-retrain] [--run-dir DIR] [--partitions N] [--label-delay S] [--verify]
#   (or DEMO_DURATION, DEMO_RATE, DEMO_DRIFT=1, DEMO_SEED, DEMO_INVALID, DEMO_RETRAIN=0,
#    DEMO_RUN_DIR, DEMO_PARTITIONS, DEMO_LABEL_DELAY in the environment: make demo DEMO_DRIFT=1)
#
# Starts devkafka (the embedded, in-memory Kafka: dev only), a redis-server, the
# five services (ingest, features, scorer, drift, gateway) and loadgen on free
# ports, promotes the committed starter model, prints a live status line every
# few seconds, and stops everything cleanly on Ctrl-C. With --duration the run
# is bounded: the pipeline drains and a summary (also run/<ts>/summary.json) is
# printed; the exit status says whether every event was accounted for.
# With --drift the traffic shifts half-way; a drift ALERT triggers retraining
# (tools/train/retrain-watch) and the scorer hot-reloads the promoted model.
# Logs: run/<timestamp>/logs/*.log.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
PY=/usr/bin/python3

# defaults, also settable from the environment (for make demo)
DURATION=${DEMO_DURATION:-0} RATE=${DEMO_RATE:-1000} DRIFT=${DEMO_DRIFT:-0} SEED=${DEMO_SEED:-42}
INVALID=${DEMO_INVALID:-10} RETRAIN=${DEMO_RETRAIN:-} PARTITIONS=${DEMO_PARTITIONS:-4}
LABEL_DELAY=${DEMO_LABEL_DELAY:-5} RUN=${DEMO_RUN_DIR:-} VERIFY=${DEMO_VERIFY:-0}
STATUS_EVERY=${DEMO_STATUS_INTERVAL:-3}
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --drift) DRIFT=1 ;;
    --seed) SEED=$2; shift ;;
    --invalid) INVALID=$2; shift ;;
    --no-retrain) RETRAIN=0 ;;
    --retrain) RETRAIN=1 ;;
    --run-dir) RUN=$2; shift ;;
    --partitions) PARTITIONS=$2; shift ;;
    --label-delay) LABEL_DELAY=$2; shift ;;
    --verify) VERIFY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$DURATION" = 0 ] && INVALID=0  # invalid events are spread over a bounded run
RETRAIN=${RETRAIN:-$DRIFT}        # the retraining loop runs with --drift unless --no-retrain

RUN=${RUN:-run/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RUN/logs" "$RUN/offline"
RUN=$(cd "$RUN" && pwd)
LOGS=$RUN/logs

. "$ROOT/tools/demo/lib.sh"
stop_all() {
  [ $STOPPED = 1 ] && return
  STOPPED=1
  # producers first, then the pipeline in flow order, infrastructure last
  local n
  for n in retrain loadgen gateway ingest features scorer drift devkafka redis; do stop_one "$n"; done
}
trap 'INTERRUPTED=1' INT TERM
trap 'rc=$?; stop_all; echo $rc >"$RUN/exit-status"' EXIT

for b in devkafka loadgen streamscore-ingest streamscore-features streamscore-scorer \
         streamscore-drift streamscore-gateway; do
  [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b is missing: run make first" >&2; exit 1; }
done
for c in redis-server redis-cli kcat curl jq; do
  command -v $c >/dev/null || { echo "demo: $c is missing: run scripts/deps.sh" >&2; exit 1; }
done

# ---------------------------------------------------------------- infrastructure
echo "demo: run directory $RUN"
start_infra "$PARTITIONS" || exit 1
export SCHEMA_DIR=$ROOT/schemas
export MODEL_NAME=card-fraud
export MODEL_STORE=$RUN/models  # retrained versions land in the run, not in the repository
export OFFLINE_DIR=$RUN/offline
export LOG_LEVEL=${LOG_LEVEL:-info}
export FEATURES_FILE=${FEATURES_FILE:-$ROOT/features/card_fraud.json}

# the starter model: the newest committed version, copied into the run's store
STARTER=$(ls -1 "$ROOT/models/$MODEL_NAME" 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -n 1)
if [ -z "$STARTER" ]; then
  echo "demo: no model bundle under models/$MODEL_NAME" >&2; exit 1
fi
mkdir -p "$MODEL_STORE/$MODEL_NAME"
cp -r "$ROOT/models/$MODEL_NAME/$STARTER" "$MODEL_STORE/$MODEL_NAME/"
"$BIN/streamscore-scorer" promote "$STARTER" >"$LOGS/promote.log" 2>&1 \
  || { echo "demo: cannot promote $STARTER:" >&2; cat "$LOGS/promote.log" >&2; exit 1; }

# ---------------------------------------------------------------- services
P_INGEST=$(free_port) P_FEATURES=$(free_port) P_SCORER=$(free_port) P_DRIFT=$(free_port) P_GATEWAY=$(free_port)
API_KEY=${STREAMSCORE_API_KEY:-demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
KEY_SHA=$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)
printf '%s produce,score,read,admin demo\n' "$KEY_SHA" >"$RUN/api-keys"
chmod 600 "$RUN/api-keys"

HTTP_PORT=$P_INGEST start ingest "$BIN/streamscore-ingest"
HTTP_PORT=$P_FEATURES start features "$BIN/streamscore-features"
HTTP_PORT=$P_SCORER start scorer "$BIN/streamscore-scorer"
HTTP_PORT=$P_DRIFT DRIFT_WINDOW=${DRIFT_WINDOW:-10s} DRIFT_WINDOW_EVENTS=${DRIFT_WINDOW_EVENTS:-0} start drift "$BIN/streamscore-drift"
HTTP_PORT=$P_GATEWAY API_KEYS_FILE=$RUN/api-keys SCORER_URL=http://127.0.0.1:$P_SCORER \
  DRIFT_URL=http://127.0.0.1:$P_DRIFT start gateway "$BIN/streamscore-gateway"
for s in ingest:$P_INGEST features:$P_FEATURES scorer:$P_SCORER drift:$P_DRIFT gateway:$P_GATEWAY; do
  wait_for 30 "${s%%:*}" ready "http://127.0.0.1:${s#*:}" || exit 1
done
GW=http://127.0.0.1:$P_GATEWAY

cat >"$RUN/endpoints.env" <<EOF
KAFKA_BROKERS=$KAFKA_BROKERS
REDIS_URL=$REDIS_URL
INGEST_URL=http://127.0.0.1:$P_INGEST
FEATURES_URL=http://127.0.0.1:$P_FEATURES
SCORER_URL=http://127.0.0.1:$P_SCORER
DRIFT_URL=http://127.0.0.1:$P_DRIFT
GATEWAY_URL=$GW
EOF

cat <<EOF

streamscore is running (model $MODEL_NAME/$STARTER).
  gateway  $GW          API key: $API_KEY
  Kafka    $KAFKA_BROKERS (devkafka, in memory)   Redis $REDIS_URL
  logs     $LOGS/

Try it (another terminal):
  K=$API_KEY
  curl -s -H "Authorization: Bearer \$K" -H 'Content-Type: application/json' $GW/v1/events \\
    -d '{"event_id":"try-1","event_time":'\$(date +%s000)',"card_id":"c0000042","merchant_id":"m000007","amount":129.5,"currency":"EUR","merchant_category":"5732","merchant_country":"DE","card_country":"DE","channel":"ECOM","device_id":"d0000042"}'
  curl -s -H "Authorization: Bearer \$K" -H 'Content-Type: application/json' $GW/v1/score \\
    -d '{"event_id":"try-2","event_time":'\$(date +%s000)',"card_id":"c0000042","merchant_id":"m000007","amount":2500,"currency":"EUR","merchant_category":"6051","merchant_country":"NG","card_country":"DE","channel":"ECOM","device_id":"d9999999"}'
  curl -s -H "Authorization: Bearer \$K" $GW/v1/features/card/c0000042
  curl -s -H "Authorization: Bearer \$K" $GW/v1/models
  curl -s -H "Authorization: Bearer \$K" $GW/v1/drift
  curl -s http://127.0.0.1:$P_SCORER/metrics | grep ^ss_scorer

EOF

# ---------------------------------------------------------------- traffic
LG_ARGS=(--kafka "$KAFKA_BROKERS" --rate "$RATE" --seed "$SEED" --label-delay "$LABEL_DELAY"
         --summary "$RUN/loadgen-summary.json" --status-interval 10
         --id-prefix "demo$SEED")
[ "$DURATION" != 0 ] && LG_ARGS+=(--duration "$DURATION" --invalid "$INVALID"
  --invalid-kinds malformed,missing_field,wrong_type,bad_enum,negative_amount,not_object)
[ "$DRIFT" = 1 ] && LG_ARGS+=(--drift)
start loadgen "$BIN/loadgen" "${LG_ARGS[@]}"
if [ "$RETRAIN" = 1 ]; then
  start retrain "$ROOT/tools/train/retrain-watch" --drift-url "http://127.0.0.1:$P_DRIFT" \
    --offline "$OFFLINE_DIR" --model-store "$MODEL_STORE" --name "$MODEL_NAME"
fi

STATUS=("$PY" "$ROOT/tools/demo/status.py" --state "$RUN/status.state" --brokers "$KAFKA_BROKERS"
        --partitions "$PARTITIONS" --ingest "http://127.0.0.1:$P_INGEST" --features "http://127.0.0.1:$P_FEATURES"
        --scorer "http://127.0.0.1:$P_SCORER" --drift "http://127.0.0.1:$P_DRIFT" --gateway "$GW"
        --loadgen-log "$LOGS/loadgen.log" --retrain-log "$LOGS/retrain.log")
T0=$SECONDS
while [ $INTERRUPTED = 0 ] && alive loadgen; do
  sleep "$STATUS_EVERY" & wait $! 2>/dev/null
  [ $INTERRUPTED = 1 ] && break
  "${STATUS[@]}" --elapsed $((SECONDS - T0)) | tee -a "$LOGS/status.log"
  for s in devkafka redis ingest features scorer drift gateway; do
    alive "$s" || { echo "demo: $s exited unexpectedly; see $LOGS/$s.log" >&2; tail -n 20 "$LOGS/$s.log" >&2; exit 1; }
  done
done

if [ $INTERRUPTED = 1 ]; then
  echo; echo "demo: stopping (Ctrl-C)..."
  stop_one loadgen
  "${STATUS[@]}" --elapsed $((SECONDS - T0)) --summary "$RUN/summary.json" --loadgen-summary "$RUN/loadgen-summary.json" --interrupted
  stop_all
  echo "demo: stopped; logs in $LOGS"
  exit 0
fi

# bounded run: loadgen finished; let the pipeline drain, then account for every event
wait "${PID[loadgen]}"; LG_RC=$?
unset "PID[loadgen]"
[ $LG_RC -ne 0 ] && echo "demo: loadgen exited with $LG_RC (see $LOGS/loadgen.log)" >&2
if alive retrain && grep -q "retraining:" "$LOGS/retrain.log" 2>/dev/null; then
  echo "demo: traffic done; waiting for the retraining in progress (logs/retrain.log)..."
  for _ in $(seq 180); do alive retrain || break; sleep 1; done
  tail -n 3 "$LOGS/retrain.log"
  sleep 2  # the scorer polls the registry every 500 ms
fi
echo "demo: traffic done, waiting for the pipeline to drain..."
"${STATUS[@]}" --elapsed $((SECONDS - T0)) --wait-drained 90 --loadgen-summary "$RUN/loadgen-summary.json" \
  | tee -a "$LOGS/status.log"
sleep "${DRIFT_SETTLE:-12}"  # one more drift window closes over the tail of the traffic
"${STATUS[@]}" --elapsed $((SECONDS - T0)) --summary "$RUN/summary.json" --loadgen-summary "$RUN/loadgen-summary.json"
RC=$?
if [ "$VERIFY" = 1 ]; then  # read every topic back before the in-memory Kafka goes away
  echo "demo: verifying the run against its topics (tools/demo/check-run)..."
  BUILD=$BUILD "$ROOT/tools/demo/check-run" "$RUN" >"$RUN/check.tap" 2>"$LOGS/check-run.log" || RC=1
  grep -c '^ok' "$RUN/check.tap" | sed 's/^/demo: checks passed: /'
  grep '^not ok' "$RUN/check.tap"
fi
stop_all
echo "demo: summary in $RUN/summary.json, logs in $LOGS"
[ $LG_RC -eq 0 ] && exit $RC
exit 1
