#!/usr/bin/env bash
# timeout: 180
# The synchronous path and the stream path give the same score for the same
# event and state, end to end: redis-server, devkafka, streamscore-features
# and streamscore-scorer. Event by event, POST /v1/score (features peek on the
# current state) and then the same event through events.raw -> features ->
# features.enriched -> scorer -> scores; the PRIMARY score, decision, reasons
# and version must equal the synchronous reply (scorer_driver.py e2e).
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT" || exit 1

STORE="$SS_TMP/models"
/usr/bin/python3 services/scorer/tests/make_bundles.py "$STORE" card-fraud >"$SS_TMP/bundles.log" 2>&1 ||
  { not_ok "fixture bundles"; ss_done; }
ss_start_redis || { not_ok "redis"; ss_done; }
ss_start_kafka 2 || { not_ok "devkafka"; ss_done; }
export SCHEMA_DIR="$SS_ROOT/schemas" FEATURES_FILE="$SS_ROOT/features/card_fraud.json"
export MODEL_STORE="$STORE" MODEL_NAME=card-fraud MODEL_POLL_INTERVAL=100ms

FPORT=$(ss_free_port)
ss_spawn features env HTTP_PORT="$FPORT" OFFLINE_DIR= TOPIC_LABELS= GROUP_ID=e2e-features \
  "$SS_BIN/streamscore-features"
SPORT=$(ss_free_port)
ss_spawn scorer env HTTP_PORT="$SPORT" GROUP_ID=e2e-scorer "$SS_BIN/streamscore-scorer"
check "cli promote v1" "$SS_BIN/streamscore-scorer" promote v1
check "scorer ready" ss_wait_for 20 ss_http_ok "http://127.0.0.1:$SPORT/readyz"
check "features ready" ss_wait_for 20 ss_http_ok "http://127.0.0.1:$FPORT/readyz"

/usr/bin/python3 services/scorer/tests/scorer_driver.py e2e --brokers "$KAFKA_BROKERS" \
  --url "http://127.0.0.1:$SPORT" --schemas "$SS_ROOT/schemas" --n 16 \
  >"$SS_TMP/driver.out" 2>"$SS_TMP/driver.err"
rc=$?
cat "$SS_TMP/driver.out"
if [ $rc -ne 0 ] && ! grep -q '^not ok' "$SS_TMP/driver.out"; then
  not_ok "e2e driver ran (rc $rc): $(tail -3 "$SS_TMP/driver.err" | tr '\n' ' ')"
fi
ss_done
