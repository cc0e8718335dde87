#!/usr/bin/env bash
# docs/openapi.yaml and the running gateway agree: every documented route
# answers (not the router's 404/405), and every route the gateway serves is
# documented with exactly its methods. The gateway's routes come from the
# gateway itself: each routed pattern has a latency series in /metrics from
# start-up, and OPTIONS on it answers 405 with the Allow header of its methods.
# timeout: 60
. "$(dirname "$0")/../../../tests/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$SS_ROOT"

ss_start_kafka 1 || exit 1
ss_start_redis || exit 1
KEY=k-openapi-$RANDOM$RANDOM
/usr/bin/python3 "$HERE/stub_upstream.py" "$SS_TMP/stub.port" "$SS_TMP/stub.jsonl" &
SS_PIDS+=($!)
ss_wait_for 10 test -s "$SS_TMP/stub.port" || exit 1
STUB="http://127.0.0.1:$(cat "$SS_TMP/stub.port")"
PORT=$(ss_free_port)
ss_spawn gw env HTTP_PORT="$PORT" HTTP_BIND=127.0.0.1 SCHEMA_DIR="$SS_ROOT/schemas" \
  API_KEYS="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) produce,score,read,admin openapi" \
  SCORER_URL="$STUB" DRIFT_URL="$STUB" "$SS_BIN/streamscore-gateway"
GW="http://127.0.0.1:$PORT"
ss_wait_for 10 curl -fsS -o /dev/null "$GW/healthz" || { echo "gateway did not start"; exit 1; }

# documented: "METHOD /path" lines
/usr/bin/python3 - "$SS_ROOT/docs/openapi.yaml" >"$SS_TMP/documented" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["openapi"].startswith("3."), "not an OpenAPI 3 document"
for path, ops in doc["paths"].items():
    for m in ops:
        if m in ("get", "post", "put", "delete", "patch"):
            print(m.upper(), path)
EOF
check "openapi: document parses and lists routes" test -s "$SS_TMP/documented"

sample() { sed -e 's/{entity}/card/; s/{id}/c-42/; s/{version}/v1/' <<<"$1"; }

# routed: patterns from /metrics, methods from OPTIONS -> 405 Allow
curl -fsS "$GW/metrics" | sed -n 's/^streamscore_http_request_duration_seconds_count{route="\([^"]*\)"}.*/\1/p' \
  | sort -u >"$SS_TMP/patterns"
check "gateway: routed patterns listed in /metrics" test -s "$SS_TMP/patterns"
: >"$SS_TMP/routed"
while read -r pat; do
  allow=$(curl -sS -o /dev/null -D - -X OPTIONS -H "X-API-Key: $KEY" "$GW$(sample "$pat")" \
    | tr -d '\r' | sed -n 's/^[Aa]llow: //p')
  for m in ${allow//,/ }; do [ "$m" = HEAD ] || echo "$m $pat" >>"$SS_TMP/routed"; done
done <"$SS_TMP/patterns"

sort -u "$SS_TMP/documented" >"$SS_TMP/d"
sort -u "$SS_TMP/routed" >"$SS_TMP/r"
undocumented=$(comm -13 "$SS_TMP/d" "$SS_TMP/r")
unrouted=$(comm -23 "$SS_TMP/d" "$SS_TMP/r")
[ -n "$undocumented" ] && diag "routed but not documented: $undocumented"
[ -n "$unrouted" ] && diag "documented but not routed: $unrouted"
check "every routed method+path is documented" test -z "$undocumented"
check "every documented method+path is routed" test -z "$unrouted"

# every documented route answers with its own handler
body_for() {
  case "$1" in
    "POST /v1/events"|"POST /v1/score")
      printf '{"event_id":"e-oa-%s","event_time":%s,"card_id":"c-42","merchant_id":"m-7","amount":1,"currency":"EUR","merchant_category":"5411","merchant_country":"FR","channel":"POS"}' \
        "$RANDOM" "$(($(date +%s) * 1000))" ;;
    "PUT /v1/models/shadow") printf '{"version":"v2"}' ;;
  esac
}
while read -r m p; do
  b=$(body_for "$m $p")
  args=(-sS -o "$SS_TMP/out" -w '%{http_code}' -X "$m" -H "X-API-Key: $KEY" --max-time 10)
  [ -n "$b" ] && args+=(-H 'Content-Type: application/json' -d "$b")
  code=$(curl "${args[@]}" "$GW$(sample "$p")")
  router_miss=0
  if [ "$code" = 404 ] || [ "$code" = 405 ]; then
    grep -q '"title":"\(not found\|method not allowed\)"' "$SS_TMP/out" && router_miss=1
  fi
  check "documented $m $p answers ($code)" test "$router_miss" = 0 -a "${code:0:1}" != 5
done <"$SS_TMP/d"

ss_done
