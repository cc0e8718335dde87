#!/usr/bin/env bash
# timeout: 180
# The scorer with a Schema Registry (the Confluent-compatible fake): feature
# vectors framed with a schema id the scorer has never seen arrive while the
# registry does not answer (first a registry that accepts connections and
# never replies, then none at all). The vectors wait (ss_consumer_defer): none
# is dead-lettered, the loop keeps serving /healthz meanwhile, and every one
# is scored once the registry is back.
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT" || exit 1
PY=/usr/bin/python3
STORE="$SS_TMP/models"
$PY services/scorer/tests/make_bundles.py "$STORE" card-fraud >"$SS_TMP/bundles.log" 2>&1 ||
  { not_ok "fixture bundles"; ss_done; }
. libs/common/tests/registry_lib.sh
ss_start_redis && ss_start_kafka 2 && sr_start || { not_ok "redis, devkafka and the registry start"; ss_done; }

export SCHEMA_DIR="$SS_ROOT/schemas" MODEL_STORE="$STORE" MODEL_NAME=card-fraud
export FEATURES_FILE="$SS_ROOT/features/card_fraud.json" GROUP_ID=registry-scorer
export SCHEMA_REGISTRY_URL="$SR"
HTTP_PORT=$(ss_free_port)
export HTTP_PORT
BASE="http://127.0.0.1:$HTTP_PORT"
check "cli promote v1" "$SS_BIN/streamscore-scorer" promote v1
ss_spawn scorer "$SS_BIN/streamscore-scorer"
check "scorer ready with SCHEMA_REGISTRY_URL" ss_wait_for 30 ss_http_ok "$BASE/readyz"

# another producer's writer schema: the canonical one plus an optional field
sr_newer_schema schemas/feature_vector.avsc "$SS_TMP/fv_newer.avsc"
new_id=$(sr_register features.enriched-value "$SS_TMP/fv_newer.avsc")
check "a newer writer schema registered (id $new_id)" test "$new_id" -gt 0

# the registry hangs: it accepts connections and never answers
sr_hang || not_ok "black hole listens"
DRIVER=(/usr/bin/python3 services/scorer/tests/scorer_driver.py --brokers "$KAFKA_BROKERS"
  --schemas "$SS_ROOT/schemas" --n 20 --prefix reg)
check "20 vectors produced with the new schema id" \
  "${DRIVER[@]}" produce --rate 200 --schema-file "$SS_TMP/fv_newer.avsc" --schema-id "$new_id"
deferred_some() { [ "$(ss_metric "$BASE/metrics" ss_kafka_deferred_total)" != 0 ]; }
check "the vectors wait for the registry (deferred)" ss_wait_for 20 deferred_some
worst=$(ss_slowest "$BASE/healthz")
check "the loop keeps answering while the registry hangs (slowest /healthz ${worst}s)" \
  awk -v w="$worst" 'BEGIN {exit !(w < 0.5)}'
sr_unhang
sleep 1 # no registry at all: connections refused
check "nothing dead-lettered meanwhile" test "$(ss_metric "$BASE/metrics" ss_scorer_dlq_total)" = 0
scored() { curl -fsS "$BASE/metrics" | awk '/^ss_scorer_scores_total\{/ {n += $2} END {print n + 0}'; }
check "nothing scored before the schema is known ($(scored))" test "$(scored)" = 0
sr_start
"${DRIVER[@]}" collect --timeout 60 >"$SS_TMP/collect.out" 2>"$SS_TMP/collect.err"
rc=$?
cat "$SS_TMP/collect.out"
if [ $rc -ne 0 ] && ! grep -q '^not ok' "$SS_TMP/collect.out"; then
  not_ok "collect ran (rc $rc): $(tail -3 "$SS_TMP/collect.err" | tr '\n' ' ')"
fi
check "still nothing dead-lettered" test "$(ss_metric "$BASE/metrics" ss_scorer_dlq_total)" = 0
kill -TERM "$SS_PID_scorer"
check "scorer exits cleanly on SIGTERM" wait "$SS_PID_scorer"
ss_done
