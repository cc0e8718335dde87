#!/usr/bin/env bash
# The gateway over real sockets: real Kafka (devkafka), real Redis, curl.
# Upstreams (scorer, drift) are the stub in stub_upstream.py here: these
# checks are about the gateway's own behaviour (relay, mapping, auth, limits,
# timeouts); test_gateway_scorer.sh runs the same routes against the real
# scorer.
# timeout: 240
. "$(dirname "$0")/../../../tests/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$SS_ROOT"

ss_start_kafka 2 || exit 1
ss_start_redis || exit 1

KEY_ALL=k-all-$RANDOM$RANDOM
KEY_READ=k-read-$RANDOM$RANDOM
KEY_SLOW=k-slow-$RANDOM$RANDOM
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
cat >"$SS_TMP/keys" <<EOF
# name scopes
$(sha "$KEY_ALL") produce,score,read,admin ops
$(sha "$KEY_READ") read reporting
$(sha "$KEY_SLOW") produce throttled 1 2
EOF

# stub upstream
/usr/bin/python3 "$HERE/stub_upstream.py" "$SS_TMP/stub.port" "$SS_TMP/stub.jsonl" &
SS_PIDS+=($!)
ss_wait_for 10 test -s "$SS_TMP/stub.port" || { echo "stub did not start"; exit 1; }
STUB="http://127.0.0.1:$(cat "$SS_TMP/stub.port")"

# gw_start NAME [VAR=value ...]: gateway on a free port; sets GW (base URL)
gw_start() {
  local name=$1; shift
  GW_PORT=$(ss_free_port)
  ss_spawn "$name" env HTTP_PORT="$GW_PORT" HTTP_BIND=127.0.0.1 API_KEYS_FILE="$SS_TMP/keys" \
    SCORER_URL="$STUB" DRIFT_URL="$STUB" SCHEMA_DIR="$SS_ROOT/schemas" HTTP_TIMEOUT=2s \
    HTTP_MAX_BODY_SIZE=64KiB HTTP_MAX_HEADER_SIZE=4KiB EVENTS_DELIVERY_TIMEOUT=2s \
    EVENTS_MAX_BATCH=10 "$@" "$SS_BIN/streamscore-gateway"
  GW="http://127.0.0.1:$GW_PORT"
  ss_wait_for 10 curl -fsS -o /dev/null "$GW/healthz"
}
gw_start gw || { echo "gateway did not start"; tail "$SS_TMP/gw.log"; exit 1; }

event() { # event ID [AMOUNT] [CARD]
  printf '{"event_id":"%s","event_time":%s,"card_id":"%s","merchant_id":"m-7","amount":%s,"currency":"EUR","merchant_category":"5411","merchant_country":"FR","channel":"ECOM"}' \
    "$1" "$(($(date +%s) * 1000))" "${3-c-42}" "${2:-12.5}"
}
# req METHOD PATH [curl args...] -> $CODE, $BODY, $HDRS
req() {
  local m=$1 p=$2; shift 2
  local out; out=$(curl -sS -D "$SS_TMP/hdrs" -o "$SS_TMP/body" -w '%{http_code}' --max-time 10 \
    -X "$m" "$@" "$GW$p" 2>"$SS_TMP/curl.err")
  CODE=$out; BODY=$(cat "$SS_TMP/body"); HDRS=$(tr -d '\r' <"$SS_TMP/hdrs")
}
AUTH=(-H "Authorization: Bearer $KEY_ALL")
JSON=(-H 'Content-Type: application/json')
jqb() { echo "$BODY" | jq -r "$1"; }
is_problem() { grep -qi '^content-type: application/problem+json' <<<"$HDRS"; }
in_topic() { # in_topic EVENT_ID...: every id is in events.ingest
  local all; all=$("$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t events.ingest --idle-ms 1500 \
    --timeout-ms 10000 --format value 2>/dev/null)
  local id; for id in "$@"; do grep -q "\"event_id\":\"$id\"" <<<"$all" || { diag "missing $id"; return 1; }; done
}

# ---------------------------------------------------------------- events
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "$(event e-single)"
check "events: single event 202 after the Kafka ack" test "$CODE" = 202
check "events: reply names partition and offset" test "$(jqb '.status + " " + (.offset|type)')" = "accepted number"

req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "[$(event e-b1),{\"event_id\":\"e-b2\",\"amount\":\"x\"},$(event e-b3 -5)]"
check "events: batch with invalid items 202" test "$CODE" = 202
check "events: batch per-item results" test "$(jqb '[.results[].status]|join(",")')" = "accepted,rejected,rejected"
check "events: rejected item names field and reason" test "$(jqb '.results[2].field + ":" + .results[2].reason')" = "amount:out_of_range"
check "events: accepted events are in events.ingest" in_topic e-single e-b1

req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "[{\"event_id\":\"x\"}]"
check "events: batch with nothing valid is 400 with results" test "$CODE:$(jqb '.rejected')" = "400:1"
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "$(event e-bad 1 '')"
check "events: invalid single event 400 naming the field" test "$CODE:$(jqb .field):$(jqb .reason)" = "400:card_id:empty_string"
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "[$(for i in $(seq 11); do printf '%s,' "$(event e-cap$i)"; done)$(event e-cap12)]"
check "events: batch above EVENTS_MAX_BATCH is 413" test "$CODE" = 413

# ------------------------------------------------------- malformed requests
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d '{"event_id": tru}'
check "malformed json: 400 problem with the position" \
  test "$CODE:$(jqb .title):$(jqb .line):$(jqb .column)" = "400:malformed json:1:16"
check "malformed json: problem+json content type" is_problem
req POST /v1/events "${AUTH[@]}" -H 'Content-Type: text/plain' -d "$(event e-ct)"
check "wrong content type: 415" test "$CODE" = 415
req POST /v1/score "${AUTH[@]}" "${JSON[@]}" --data-binary ''
check "empty body: 400" test "$CODE:$(jqb .title)" = "400:empty body"
head -c 70000 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' >"$SS_TMP/big.json"
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" --data-binary @"$SS_TMP/big.json"
check "oversize body: 413 problem with the limit" test "$CODE:$(jqb .limit)" = "413:65536"
req GET /v1/models "${AUTH[@]}" -H "X-Pad: $(head -c 5000 /dev/zero | tr '\0' 'y')"
check "oversize headers: 431" test "$CODE" = 431
req GET /v1/nope "${AUTH[@]}"
check "unknown route: 404 problem" test "$CODE:$(jqb .title)" = "404:not found"
req DELETE /v1/events "${AUTH[@]}"
check "wrong method: 405 with Allow" bash -c "[ $CODE = 405 ] && grep -qi '^allow: POST$' <<<'$HDRS'"

# ------------------------------------------------------------------ auth
req POST /v1/events "${JSON[@]}" -d "$(event e-nokey)"
check "no key: 401 with WWW-Authenticate" bash -c "[ $CODE = 401 ] && grep -qi '^www-authenticate: Bearer' <<<'$HDRS'"
req POST /v1/events -H "Authorization: Bearer not-a-key" "${JSON[@]}" -d "$(event e-badkey)"
check "invalid key: 401" test "$CODE:$(jqb .detail)" = "401:invalid api key"
req POST /v1/events -H "X-API-Key: $KEY_READ" "${JSON[@]}" -d "$(event e-scope)"
check "wrong scope: 403 naming the scope" test "$CODE:$(jqb .scope)" = "403:produce"
req POST /v1/models/rollback -H "X-API-Key: $KEY_READ"
check "read key cannot use admin routes: 403" test "$CODE" = 403
req GET /v1/models -H "X-API-Key: $KEY_READ"
check "X-API-Key header works: read key lists models" test "$CODE" = 200

# ------------------------------------------------------------ rate limit
codes=""
for i in 1 2 3; do req POST /v1/events -H "Authorization: Bearer $KEY_SLOW" "${JSON[@]}" -d "$(event e-rl$i)"; codes="$codes$CODE "; done
check "rate limit: burst of 2 then 429" test "$codes" = "202 202 429 "
RA=$(grep -i '^retry-after:' <<<"$HDRS" | awk '{print $2}')
check "rate limit: 429 has Retry-After" test "${RA:-0}" -ge 1
sleep "$RA"
req POST /v1/events -H "Authorization: Bearer $KEY_SLOW" "${JSON[@]}" -d "$(event e-rl4)"
check "rate limit: recovered after Retry-After" test "$CODE" = 202

# -------------------------------------------------------------- features
redis-cli -p "$REDIS_PORT" SET ss:online:card:c-42 \
  '{"entity_id":"c-42","event_id":"e-9","features":{"card_txn_count_1h":3,"card_amount_sum_24h":412.5}}' >/dev/null
req GET /v1/features/card/c-42 -H "X-API-Key: $KEY_READ"
check "features: 200 with the online vector" test "$CODE:$(jqb .features.card_txn_count_1h)" = "200:3"
req GET /v1/features/card/c-unknown -H "X-API-Key: $KEY_READ"
check "features: unknown entity id 404 problem" test "$CODE:$(jqb .title)" = "404:no online features"
req GET '/v1/features/card%3Ax/c-42' -H "X-API-Key: $KEY_READ"
check "features: bad entity 400" test "$CODE" = 400

# ------------------------------------------------- score / models / drift relay
req POST /v1/score "${AUTH[@]}" "${JSON[@]}" -d "$(event e-score1)"
check "score: 200 relayed from the scorer" test "$CODE:$(jqb .event_id):$(jqb .model_version)" = "200:e-score1:stub-1"
check "score: the event also flows into events.ingest" in_topic e-score1
req POST /v1/score "${AUTH[@]}" "${JSON[@]}" -d '{"event_id":"e-s2"}'
check "score: invalid event 400 before the scorer is called" \
  bash -c "[ $CODE = 400 ] && ! grep -q e-s2 '$SS_TMP/stub.jsonl'"
req POST /v1/models/2026-11-24.2/promote "${AUTH[@]}"
check "models: promote maps to the scorer's /v1/models/{name}/promote" \
  test "$CODE:$(jqb .path):$(jqb .body.version)" = "200:/v1/models/card-fraud/promote:2026-11-24.2"
req POST '/v1/models/v3/promote?model=other-model' "${AUTH[@]}"
check "models: ?model= picks the model name" test "$(jqb .path)" = "/v1/models/other-model/promote"
req POST /v1/models/..%2Fetc/promote "${AUTH[@]}"
check "models: bad version 400" test "$CODE" = 400
req POST /v1/models/rollback "${AUTH[@]}"
check "models: scorer's 409 relayed as is" bash -c "[ $CODE = 409 ] && grep -qi 'problem+json' <<<'$HDRS'"
req PUT /v1/models/shadow "${AUTH[@]}" "${JSON[@]}" -d '{"version":"v9"}'
check "models: shadow set" test "$CODE:$(jqb .method):$(jqb .body.version)" = "200:PUT:v9"
req DELETE /v1/models/shadow "${AUTH[@]}"
check "models: shadow clear" test "$CODE:$(jqb .method):$(jqb .path)" = "200:DELETE:/v1/models/card-fraud/shadow"
req GET '/v1/drift?window=last' -H "X-API-Key: $KEY_READ"
check "drift: relayed with the query string" test "$CODE:$(jqb .query)" = "200:/v1/drift?window=last"

# ------------------------------------------------- upstream failures (no hang)
/usr/bin/python3 "$HERE/stub_upstream.py" "$SS_TMP/slow.port" "$SS_TMP/slow.jsonl" --delay-ms 3000 &
SS_PIDS+=($!)
ss_wait_for 10 test -s "$SS_TMP/slow.port"
gw_start gwslow SCORER_URL="http://127.0.0.1:$(cat "$SS_TMP/slow.port")" SCORER_TIMEOUT=300ms
t0=$(date +%s%N)
req POST /v1/score "${AUTH[@]}" "${JSON[@]}" -d "$(event e-slow)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "scorer timeout: 504 problem" test "$CODE:$(jqb .upstream)" = "504:scorer"
check "scorer timeout: answered near SCORER_TIMEOUT (${ms} ms)" test "$ms" -lt 2000
gw_start gwdown SCORER_URL="http://127.0.0.1:$(ss_free_port)" DRIFT_URL=
req POST /v1/score "${AUTH[@]}" "${JSON[@]}" -d "$(event e-down)"
check "scorer down: 503 with Retry-After" bash -c "[ $CODE = 503 ] && grep -qi '^retry-after: 1' <<<'$HDRS'"
req GET /v1/drift "${AUTH[@]}"
check "drift not configured: 503" test "$CODE" = 503

# ------------------------------------------------------ slow client, TLS
gw_start gwto HTTP_TIMEOUT=1s
slow_client() {
  /usr/bin/python3 - "$GW_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
s.settimeout(0.2)
while time.time() - t0 < 5:
    try:
        s.sendall(b"X")  # one byte every 200 ms: never idle, never complete
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
el = time.time() - t0
print("%.2f" % el)
sys.exit(0 if 0.8 <= el < 3 else 1)
EOF
}
check "slow client: dropped by the request deadline" slow_client

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$SS_TMP/key.pem" -out "$SS_TMP/cert.pem" >/dev/null 2>&1
gw_tls_start() {
  GW_PORT=$(ss_free_port)
  ss_spawn gwtls env HTTP_PORT="$GW_PORT" HTTP_BIND=127.0.0.1 API_KEYS_FILE="$SS_TMP/keys" \
    SCORER_URL="$STUB" SCHEMA_DIR="$SS_ROOT/schemas" TLS_CERT="$SS_TMP/cert.pem" TLS_KEY="$SS_TMP/key.pem" \
    "$SS_BIN/streamscore-gateway"
  GW="https://127.0.0.1:$GW_PORT"
  ss_wait_for 10 curl -fsS --cacert "$SS_TMP/cert.pem" -o /dev/null "$GW/healthz"
}
check "tls: handshake with the configured certificate" gw_tls_start
req POST /v1/events --cacert "$SS_TMP/cert.pem" "${AUTH[@]}" "${JSON[@]}" -d "$(event e-tls)"
check "tls: request over TLS accepted" test "$CODE" = 202
check "tls: plaintext is not served" bash -c "! curl -s --max-time 3 -o /dev/null http://127.0.0.1:$GW_PORT/healthz"

# ------------------------------------------------------ ops, secrets in logs
GW="http://127.0.0.1:$(sed -n 's/.*"port":"\([0-9]*\)".*/\1/p' "$SS_TMP/gw.log" | head -1)"
req GET /readyz
check "readyz: 200 naming kafka and redis" test "$CODE:$(jqb '.checks|keys|join(",")')" = "200:kafka,redis"
check "metrics: promtool accepts /metrics" bash -c "curl -fsS $GW/metrics | promtool check metrics"
check "metrics: rate-limited requests counted by key name" \
  bash -c "curl -fsS $GW/metrics | grep -q 'streamscore_gateway_rate_limited_total{key=\"throttled\"} 1'"
check "keys never appear in logs" bash -c "! grep -q -e '$KEY_ALL' -e '$KEY_READ' -e '$KEY_SLOW' $SS_TMP/*.log"

# ------------------------------------------------------------- connection cap
GW_MAIN=$GW
gw_start gwcap HTTP_MAX_CONNECTIONS=2
cap_check() {
  /usr/bin/python3 - "$GW_PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", port))
c.settimeout(2)
try:
    refused = c.recv(1) == b""
except (ConnectionResetError, socket.timeout) as e:
    refused = isinstance(e, ConnectionResetError)
a.close()
time.sleep(0.3)
d = socket.create_connection(("127.0.0.1", port))
d.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d.settimeout(2)
served = d.recv(64).startswith(b"HTTP/1.1 200")
print("refused", refused, "served after a slot freed", served)
sys.exit(0 if refused and served else 1)
EOF
}
check "connection cap: the third connection is closed, a freed slot serves again" cap_check
GW=$GW_MAIN

# --------------------------------------------- Kafka down: no 2xx without an ack
ss_kafka_down
sleep 0.5
t0=$(date +%s%N)
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "$(event e-down1)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "kafka down: single event not acknowledged -> 503 (after ${ms} ms)" test "$CODE" = 503
req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "[$(event e-down2),$(event e-down3)]"
check "kafka down: batch -> 503, items failed" test "$CODE:$(jqb .failed):$(jqb .accepted)" = "503:2:0"
# SIGTERM while a request waits for Kafka: the client still gets its answer
# (no 2xx: Kafka is down), then the gateway exits cleanly
GW_MAIN=$GW
gw_start gwdrain
curl -sS -o "$SS_TMP/drain.body" -w '%{http_code}' --max-time 20 "${AUTH[@]}" "${JSON[@]}" \
  -d "$(event e-drain)" "$GW/v1/events" >"$SS_TMP/drain.code" 2>/dev/null &
CURL_PID=$!
sleep 0.5
kill -TERM "$SS_PID_gwdrain"
wait "$CURL_PID"
check "drain: a request in flight at SIGTERM is answered ($(cat "$SS_TMP/drain.code"))" \
  test "$(cat "$SS_TMP/drain.code")" = 503
check "drain: the gateway then exits cleanly" wait "$SS_PID_gwdrain"
GW=$GW_MAIN

ss_kafka_up
ok_after_up() {
  local i; for i in $(seq 30); do
    req POST /v1/events "${AUTH[@]}" "${JSON[@]}" -d "[$(event e-up1),$(event e-up2)]"
    [ "$CODE" = 202 ] && return 0; sleep 0.5
  done; return 1
}
check "kafka back: events accepted again" ok_after_up
check "kafka back: every accepted event is in the topic" in_topic e-single e-b1 e-score1 e-rl1 e-rl2 e-rl4 e-tls e-up1 e-up2

kill -TERM "$SS_PID_gw"
check "gateway exits cleanly on SIGTERM" wait "$SS_PID_gw"
check "no sanitizer report from any gateway" \
  bash -c "! grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $SS_TMP/gw*.log"

ss_done
