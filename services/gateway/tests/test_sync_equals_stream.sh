#!/usr/bin/env bash
# End to end through the real services: gateway -> events.ingest -> ingest ->
# events.raw -> features -> features.enriched -> scorer -> scores, with the
# gateway's POST /v1/score going to the real scorer (features peek + model).
#  - warm-up events posted through the gateway are scored by the stream;
#  - for fresh events, the synchronous score equals the stream path's score of
#    the same event (same state, same model version);
#  - the online vector route returns what the features service wrote;
#  - the model routes drive the real registry (promote, rollback, shadow);
#  - GET /v1/drift relays the real drift service's latest window.
# timeout: 180
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT" || exit 1

for b in streamscore-ingest streamscore-features streamscore-scorer streamscore-drift streamscore-gateway; do
  [ -x "$SS_BIN/$b" ] || { not_ok "$b is built"; ss_done; }
done

STORE="$SS_TMP/models"
/usr/bin/python3 services/scorer/tests/make_bundles.py "$STORE" card-fraud >"$SS_TMP/bundles.log" 2>&1 ||
  { not_ok "fixture bundles"; ss_done; }
ss_start_redis || { not_ok "redis"; ss_done; }
ss_start_kafka 2 || { not_ok "devkafka"; ss_done; }
export SCHEMA_DIR="$SS_ROOT/schemas" FEATURES_FILE="$SS_ROOT/features/card_fraud.json"
export MODEL_STORE="$STORE" MODEL_NAME=card-fraud MODEL_POLL_INTERVAL=100ms

ss_spawn ingest env HTTP_PORT="$(ss_free_port)" GROUP_ID=e2e-ingest "$SS_BIN/streamscore-ingest"
ss_spawn features env HTTP_PORT="$(ss_free_port)" GROUP_ID=e2e-features OFFLINE_DIR= \
  "$SS_BIN/streamscore-features"
SCORER_PORT=$(ss_free_port)
ss_spawn scorer env HTTP_PORT="$SCORER_PORT" GROUP_ID=e2e-scorer "$SS_BIN/streamscore-scorer"
check "scorer cli promote v1" "$SS_BIN/streamscore-scorer" promote v1
check "scorer ready with v1" ss_wait_for 20 ss_http_ok "http://127.0.0.1:$SCORER_PORT/readyz"

# drift needs a bundle with a training baseline; the scorer's fixtures have
# none, so it monitors the drift service's own fixture bundle (pinned)
/usr/bin/python3 services/drift/tests/drift_fixture.py bundle "$SS_TMP/drift-models" card-fraud dfx 3 \
  >"$SS_TMP/drift-fixture.log" 2>&1 || not_ok "drift fixture bundle"
DRIFT_PORT=$(ss_free_port)
ss_spawn drift env HTTP_PORT="$DRIFT_PORT" GROUP_ID=e2e-drift DRIFT_WINDOW_EVENTS=10 DRIFT_WINDOW=0 \
  DRIFT_MIN_SAMPLES=5 MODEL_STORE="$SS_TMP/drift-models" MODEL_VERSION=dfx "$SS_BIN/streamscore-drift"

KEY=k-e2e-$RANDOM$RANDOM
GW_PORT=$(ss_free_port)
GW="http://127.0.0.1:$GW_PORT"
ss_spawn gateway env HTTP_PORT="$GW_PORT" HTTP_BIND=127.0.0.1 \
  API_KEYS="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) produce,score,read,admin e2e" \
  SCORER_URL="http://127.0.0.1:$SCORER_PORT" SCORER_TIMEOUT=3s DRIFT_URL="http://127.0.0.1:$DRIFT_PORT" \
  "$SS_BIN/streamscore-gateway"
check "gateway ready" ss_wait_for 20 ss_http_ok "$GW/readyz"

NOW=$(($(date +%s) * 1000))
event() { # ID CARD AMOUNT OFFSET_MS [CHANNEL]
  printf '{"event_id":"%s","event_time":%s,"card_id":"%s","merchant_id":"m-%s","amount":%s,"currency":"EUR","merchant_category":"5411","merchant_country":"FR","channel":"%s","device_id":"d-1"}' \
    "$1" "$((NOW - 600000 + $4))" "$2" "$((RANDOM % 3))" "$3" "${5:-ECOM}"
}
post() { curl -sS -o "$SS_TMP/out.json" -w '%{http_code}' --max-time 15 -H "X-API-Key: $KEY" \
  -H 'Content-Type: application/json' -X "$1" "${@:3}" "$GW$2"; }

# scores_of ID...: PRIMARY score records of these events as JSON lines
scores() {
  "$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t scores --idle-ms 1000 --timeout-ms 8000 \
    --format json 2>/dev/null | jq -r .value_hex | "$SS_BIN/avrocat" decode score 2>/dev/null |
    jq -c 'select(.role == "PRIMARY")'
}
have_scores() { # N ID-PREFIX
  [ "$(scores | jq -r .event_id | grep -c "^$2")" -ge "$1" ]
}

# ---- warm-up: 20 events for two cards through POST /v1/events
batch="["
for i in $(seq 1 20); do
  card=c-e2e-$((i % 2))
  batch="$batch$(event "warm-$i" "$card" "$((10 + i * 7)).25" "$((i * 1000))"),"
done
batch="${batch%,}]"
code=$(post POST /v1/events -d "$batch")
check "warm-up batch accepted ($code)" test "$code" = 202
check "warm-up events scored by the stream path" ss_wait_for 60 have_scores 20 warm-

# ---- sync vs stream, one fresh event at a time (state settled in between)
for n in 1 2 3; do
  id="sync-$n"
  code=$(post POST /v1/score -d "$(event "$id" c-e2e-$((n % 2)) "$((n * 150)).5" "$((30000 + n * 1000))" POS)")
  cp "$SS_TMP/out.json" "$SS_TMP/sync-$n.json"
  check "sync score $id: 200 ($code)" test "$code" = 200
  check "sync score $id: features used and model version present" \
    jq -e '(.features|length > 0) and .model_version == "v1" and (.reasons|type == "array")' "$SS_TMP/sync-$n.json"
  check "$id reaches the scores topic through the stream" ss_wait_for 60 have_scores 1 "$id"
  stream=$(scores | jq -c "select(.event_id == \"$id\")" | head -1)
  sync_score=$(jq -r .score "$SS_TMP/sync-$n.json")
  stream_score=$(jq -r .score <<<"$stream")
  diag "$id sync $sync_score stream $stream_score"
  check "$id: synchronous score equals the stream score" /usr/bin/python3 -c \
    "import sys; a,b=float('$sync_score'),float('$stream_score'); sys.exit(0 if abs(a-b) <= 1e-12*max(1,abs(a)) else 1)"
  check "$id: same decision and model version" test \
    "$(jq -r '.decision + " " + .model_version' "$SS_TMP/sync-$n.json")" = "$(jq -r '.decision + " " + .model_version' <<<"$stream")"
done

# ---- the scorer hop reuses the pool's keep-alive connections
accepted() { curl -fsS "http://127.0.0.1:$SCORER_PORT/metrics" |
  awk '$1 == "streamscore_http_connections_accepted_total" { print $2 }'; }
before=$(accepted)
oks=0
for i in $(seq 1 40); do
  [ "$(post POST /v1/score -d "$(event "pool-$i" c-pool 5 $((40000 + i)))")" = 200 ] && oks=$((oks + 1))
done
after=$(accepted)
check "pool: 40 sync scores ($oks x 200) opened $((after - before)) scorer connections (pool of 8)" \
  test "$oks" = 40 -a $((after - before)) -ge 1 -a $((after - before)) -le 8

# ---- online vector written by the features service
code=$(post GET /v1/features/card/c-e2e-1)
check "features: online vector of card c-e2e-1 ($code)" \
  bash -c "[ $code = 200 ] && jq -e '.entity == \"card\" and .id == \"c-e2e-1\" and (.features|length > 0)' '$SS_TMP/out.json'"

# ---- drift report of the real drift service (a window closes every 10 vectors)
drift_report() { [ "$(post GET /v1/drift)" = 200 ] && jq -e 'type == "object"' "$SS_TMP/out.json" >/dev/null; }
check "drift: the drift service's report relayed" ss_wait_for 30 drift_report
diag "drift: $(head -c 300 "$SS_TMP/out.json")"

# ---- model routes against the real registry
code=$(post GET /v1/models)
check "models: list shows v1 active ($code)" bash -c "[ $code = 200 ] && jq -e '.active == \"v1\"' '$SS_TMP/out.json'"
code=$(post POST /v1/models/v2/promote)
check "models: promote v2 ($code)" bash -c "[ $code = 200 ] && jq -e '.active == \"v2\"' '$SS_TMP/out.json'"
code=$(post POST /v1/models/bad-corrupt/promote)
check "models: a broken bundle is refused with 422 ($code)" test "$code" = 422
sync_v2() { post POST /v1/score -d "$(event sync-v2 c-e2e-0 20 50000)" >/dev/null && jq -e '.model_version == "v2"' "$SS_TMP/out.json" >/dev/null; }
check "models: scorer hot-reloads v2 for sync scoring" ss_wait_for 10 sync_v2
code=$(post PUT /v1/models/shadow -d '{"version":"v3"}')
check "models: shadow v3 set ($code)" bash -c "[ $code = 200 ] && jq -e '.shadow == \"v3\"' '$SS_TMP/out.json'"
code=$(post DELETE /v1/models/shadow)
check "models: shadow cleared ($code)" test "$code" = 200
code=$(post POST /v1/models/rollback)
check "models: rollback to v1 ($code)" bash -c "[ $code = 200 ] && jq -e '.active == \"v1\"' '$SS_TMP/out.json'"
code=$(post POST /v1/models/rollback)
check "models: rollback with empty history is 409 ($code)" test "$code" = 409

kill -TERM "$SS_PID_gateway"
check "gateway exits cleanly on SIGTERM" wait "$SS_PID_gateway"
check "no sanitizer report from the gateway" \
  bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$SS_TMP/gateway.log'"
ss_done
