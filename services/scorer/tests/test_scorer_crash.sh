#!/usr/bin/env bash
# timeout: 180
# At-least-once across a crash: vectors flow while the scorer is killed with
# SIGKILL and started again. Offsets are stored only after the scores they
# caused are acknowledged, so every event still gets a PRIMARY score; the
# redelivered ones are scored again identically (same version, same score).
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT" || exit 1

STORE="$SS_TMP/models"
/usr/bin/python3 services/scorer/tests/make_bundles.py "$STORE" card-fraud >"$SS_TMP/bundles.log" 2>&1 ||
  { not_ok "fixture bundles"; ss_done; }
ss_start_redis || { not_ok "redis"; ss_done; }
ss_start_kafka 4 || { not_ok "devkafka"; ss_done; }
export SCHEMA_DIR="$SS_ROOT/schemas" MODEL_STORE="$STORE" MODEL_NAME=card-fraud
export FEATURES_FILE="$SS_ROOT/features/card_fraud.json" GROUP_ID=crash-scorer
HTTP_PORT=$(ss_free_port)
export HTTP_PORT
check "cli promote v1" "$SS_BIN/streamscore-scorer" promote v1
ss_spawn scorer "$SS_BIN/streamscore-scorer"
check "scorer ready" ss_wait_for 30 ss_http_ok "http://127.0.0.1:$HTTP_PORT/readyz"

DRIVER=(/usr/bin/python3 services/scorer/tests/scorer_driver.py --brokers "$KAFKA_BROKERS"
  --schemas "$SS_ROOT/schemas" --n 3000 --prefix crash)
"${DRIVER[@]}" produce --rate 1000 >"$SS_TMP/produce.log" 2>&1 &
producer=$!
sleep 1.2
kill -KILL "$SS_PID_scorer"
wait "$SS_PID_scorer" 2>/dev/null
diag "scorer killed mid-stream"
sleep 0.5
ss_spawn scorer2 "$SS_BIN/streamscore-scorer"
check "restarted scorer ready" ss_wait_for 30 ss_http_ok "http://127.0.0.1:$HTTP_PORT/readyz"
check "producer finished" wait "$producer"
"${DRIVER[@]}" collect --timeout 90 >"$SS_TMP/collect.out" 2>"$SS_TMP/collect.err"
rc=$?
cat "$SS_TMP/collect.out"
if [ $rc -ne 0 ] && ! grep -q '^not ok' "$SS_TMP/collect.out"; then
  not_ok "collect ran (rc $rc): $(tail -3 "$SS_TMP/collect.err" | tr '\n' ' ')"
fi
ss_done
