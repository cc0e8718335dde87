#!/usr/bin/env bash
# timeout: 240
# Scorer integration: real redis-server, the embedded Kafka (devkafka) and
# streamscore-scorer.
#  - not ready before a model is active; CLI promote makes it ready;
#  - corrupt, truncated, wrong-feature-count and unsupported bundles are
#    refused (HTTP 422 with the loader's reason), also when a pointer names
#    one behind the validation's back: the old model keeps serving;
#  - hot swap under load: vectors flow while v2 is promoted, rolled back and
#    promoted again with shadow v3 set; every event gets exactly one PRIMARY
#    score naming v1 or v2, equal to XGBoost's prediction by that version,
#    and one SHADOW score (v3) (scorer_driver.py);
#  - POST /v1/score answers with score, decision, reasons and version;
#  - SIGTERM: a score in flight is still answered, then the scorer exits.
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT" || exit 1

STORE="$SS_TMP/models"
/usr/bin/python3 services/scorer/tests/make_bundles.py "$STORE" card-fraud >"$SS_TMP/bundles.log" 2>&1 ||
  { not_ok "fixture bundles"; ss_done; }
ss_start_redis || { not_ok "redis"; ss_done; }
ss_start_kafka 4 || { not_ok "devkafka"; ss_done; }

export MODEL_STORE="$STORE" MODEL_NAME=card-fraud MODEL_POLL_INTERVAL=100ms
export SCHEMA_DIR="$SS_ROOT/schemas" FEATURES_FILE="$SS_ROOT/features/card_fraud.json"
HTTP_PORT=$(ss_free_port)
export HTTP_PORT GROUP_ID=scorer-test
SCORER="$SS_BIN/streamscore-scorer"
BASE="http://127.0.0.1:$HTTP_PORT"
ss_spawn scorer "$SCORER"

check "scorer is alive" ss_wait_for 15 ss_http_ok "$BASE/healthz"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")
check "not ready without an active model (readyz $code)" test "$code" = 503
check "cli promote v1" "$SCORER" promote v1
check "ready once v1 is loaded" ss_wait_for 30 ss_http_ok "$BASE/readyz"

models() { curl -fsS "$BASE/v1/models"; }
loaded_active() { models | jq -r .loaded.active; }
check "v1 serving" test "$(loaded_active)" = v1

# ---- refusals through the admin API: 422 with the loader's reason, v1 serves
refuse() { # version expected-substring
  local v=$1 want=$2 code
  code=$(curl -s -o "$SS_TMP/r.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d "{\"version\":\"$v\"}" "$BASE/v1/models/card-fraud/promote")
  local detail
  detail=$(jq -r .detail "$SS_TMP/r.json" 2>/dev/null)
  diag "$v -> $code $detail"
  [ "$code" = 422 ] && [[ "$detail" == *"$want"* ]]
}
check "corrupt bundle refused" refuse bad-corrupt "bundle.json: invalid JSON"
check "truncated model refused" refuse bad-truncated "model.json: invalid JSON"
check "wrong feature count refused" refuse bad-wrongcount "wrong feature count"
check "unsupported (multi-class) refused" refuse bad-multiclass "multi-class models are not supported"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"version":"v9"}' "$BASE/v1/models/card-fraud/promote")
check "unknown version -> 404 ($code)" test "$code" = 404
check "registry still names v1" test "$(models | jq -r .active)" = v1

# ---- a pointer naming a bad bundle behind validation's back: refused, v1 keeps serving
fails_before=$(curl -fsS "$BASE/metrics" | awk '/^ss_scorer_model_load_failures_total\{role="active"\}/ {print $2}')
redis-cli -p "$REDIS_PORT" SET ss:model:card-fraud:active bad-truncated >/dev/null
failed_more() {
  local f
  f=$(curl -fsS "$BASE/metrics" | awk '/^ss_scorer_model_load_failures_total\{role="active"\}/ {print $2}')
  awk -v a="$f" -v b="${fails_before:-0}" 'BEGIN { exit !(a > b) }'
}
check "forced bad pointer counted as a load failure" ss_wait_for 5 failed_more
check "old model keeps serving after the refusal" test "$(loaded_active)" = v1
check "still ready" ss_http_ok "$BASE/readyz"
redis-cli -p "$REDIS_PORT" SET ss:model:card-fraud:active v1 >/dev/null

# ---- synchronous scoring
event='{"event_id":"sync-1","event_time":1764000000000,"card_id":"c-1","merchant_id":"m-1",
 "amount":120.5,"currency":"EUR","merchant_category":"5411","merchant_country":"FR","channel":"ECOM"}'
code=$(curl -s -o "$SS_TMP/s.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d "$event" "$BASE/v1/score")
diag "sync: $code $(head -c 400 "$SS_TMP/s.json")"
check "POST /v1/score -> 200" test "$code" = 200
check "sync reply has score, decision, reasons, version" jq -e \
  '(.score|type=="number") and (.decision|IN("APPROVE","REVIEW","DECLINE")) and (.reasons|type=="array")
   and .model_version=="v1" and .model_name=="card-fraud" and .event_id=="sync-1"
   and (.features|has("card_txn_count_1h"))' "$SS_TMP/s.json"
code=$(curl -s -o "$SS_TMP/e.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"event_id":"x","amount":"lots"}' "$BASE/v1/score")
check "invalid event -> 400 with reason and field ($(jq -c '[.reason,.field,.detail]' "$SS_TMP/e.json"))" \
  bash -c "[ $code = 400 ] && jq -e '(.reason|length>0) and (.field|length>0)' '$SS_TMP/e.json' >/dev/null"
code=$(curl -s -o "$SS_TMP/t.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d "${event/1764000000000/\"2025-11-24T16:00:00Z\"}" "$BASE/v1/score")
check "RFC 3339 event time accepted, as by ingest ($code)" test "$code" = 200
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: text/plain' -d "$event" "$BASE/v1/score")
check "wrong content type -> 415 ($code)" test "$code" = 415

# ---- hot swap under load, with a shadow model
check "cli shadow v3" "$SCORER" shadow v3
/usr/bin/python3 services/scorer/tests/scorer_driver.py hotswap --brokers "$KAFKA_BROKERS" \
  --scorer "$SCORER" --store "$STORE" --name card-fraud --schemas "$SS_ROOT/schemas" \
  --n 3000 --rate 400 --timeout 90 >"$SS_TMP/driver.out" 2>"$SS_TMP/driver.err"
rc=$?
cat "$SS_TMP/driver.out"
if [ $rc -ne 0 ] && ! grep -q '^not ok' "$SS_TMP/driver.out"; then
  not_ok "hot swap driver ran (rc $rc): $(tail -3 "$SS_TMP/driver.err" | tr '\n' ' ')"
fi

check "metrics count scores by version and decision" bash -c \
  "curl -fsS $BASE/metrics | grep -q 'ss_scorer_scores_total{model_version=\"v2\",role=\"PRIMARY\"'"
check "metrics have the inference histogram" bash -c \
  "curl -fsS $BASE/metrics | grep -q '^ss_scorer_inference_seconds_bucket'"
shadow_compared() {
  curl -fsS "$BASE/metrics" | awk '/^ss_scorer_shadow_decisions_total/ {n += $2} END {exit !(n >= 3000)}'
}
check "shadow decisions compared with primary for every event" shadow_compared
check "metrics count reloads" bash -c \
  "curl -fsS $BASE/metrics | grep -qE '^ss_scorer_model_reloads_total\\{role=\"active\"\\} [4-9]'"
check "cli list" bash -c "'$SCORER' list | grep -q '^active v2'"
check "cli rollback" "$SCORER" rollback
check "rollback reloads v1" ss_wait_for 5 bash -c "[ \"\$(curl -fsS $BASE/v1/models | jq -r .loaded.active)\" = v1 ]"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$BASE/v1/models/card-fraud/shadow")
check "shadow cleared over HTTP ($code)" test "$code" = 200
check "shadow unloaded" ss_wait_for 5 bash -c "[ \"\$(curl -fsS $BASE/v1/models | jq -r .loaded.shadow)\" = null ]"

# ---- shutdown with a synchronous score in flight: it is answered first.
# Redis holds every command for 1 s, so the request waits on its feature read
# when SIGTERM arrives.
redis-cli -p "$REDIS_PORT" CLIENT PAUSE 1000 ALL >/dev/null
curl -s -o "$SS_TMP/late.json" -w '%{http_code}' --max-time 10 -X POST \
  -H 'content-type: application/json' -d "${event/sync-1/sync-at-stop}" "$BASE/v1/score" \
  >"$SS_TMP/late.code" 2>/dev/null &
late=$!
sleep 0.3
kill -TERM "$SS_PID_scorer"
wait "$late"
check "a score in flight at SIGTERM is answered ($(cat "$SS_TMP/late.code"))" \
  jq -e '.event_id == "sync-at-stop" and (.score | type) == "number"' "$SS_TMP/late.json"
check "scorer exits cleanly on SIGTERM" wait "$SS_PID_scorer"
ss_done
