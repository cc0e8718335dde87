#!/usr/bin/env bash
# The Schema Registry REST client of libs/common (through avrocat) against a
# small Confluent-compatible registry (fake_schema_registry.py; the real one
# is not available here): register on encode (TopicNameStrategy subject),
# look up unknown ids on decode, reuse of ids, records written by another
# client (python3-avro) under a schema it registered itself, unknown ids and
# an unreachable registry.
# timeout: 60
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
PY=/usr/bin/python3
HELPER=libs/common/tests/avro_py.py
AVROCAT="$SS_BIN/avrocat"

ss_spawn sr $PY libs/common/tests/fake_schema_registry.py --port-file "$SS_TMP/sr.port"
ss_wait_for 10 test -s "$SS_TMP/sr.port" || { not_ok "fake registry starts"; ss_done; }
SR="http://127.0.0.1:$(cat "$SS_TMP/sr.port")"
diag "registry at $SR"

$PY $HELPER gen schemas/card_transaction.avsc 20 3 >"$SS_TMP/in.json"
"$AVROCAT" --registry "$SR" --topic events.raw encode card_transaction <"$SS_TMP/in.json" >"$SS_TMP/c.hex" 2>"$SS_TMP/err"
check "encode registers the schema and frames with the registry's id" \
  test "$(cut -c1-10 "$SS_TMP/c.hex" | sort -u)" = "00000003e9"
latest=$(curl -fsS "$SR/subjects/events.raw-value/versions/latest" | jq -r .id)
check "subject events.raw-value holds id 1001" test "$latest" = 1001
id2=$("$AVROCAT" --registry "$SR" --topic events.raw id card_transaction)
check "registering the same schema again returns the same id" test "$id2" = 1001
check "the registry stored the schema avro-c can parse back" \
  bash -c "curl -fsS '$SR/schemas/ids/1001' | jq -e '.schema | fromjson | .name == \"CardTransaction\"' >/dev/null"

# a fresh process has an empty cache: decoding must fetch id 1001 over REST
before=$(grep -c 'GET /schemas/ids/1001' "$SS_TMP/sr.log")
"$AVROCAT" --registry "$SR" --topic events.raw decode card_transaction <"$SS_TMP/c.hex" >"$SS_TMP/out.json" 2>"$SS_TMP/err"
after=$(grep -c 'GET /schemas/ids/1001' "$SS_TMP/sr.log")
check "decode looks the writer schema up by id" test "$after" -gt "$before"
check "decode with the looked-up schema gives the records back" $PY $HELPER compare "$SS_TMP/in.json" "$SS_TMP/out.json"
check "decode fetches each id once per process (cached)" test $((after - before)) -eq 1

# another client registers an older schema version and writes with it
v0id=$(jq -Rs '{schema: .}' schemas/history/card_transaction.v0.avsc |
  curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data-binary @- "$SR/subjects/events.ingest-value/versions" | jq -r .id)
check "a second schema gets a new id" test "$v0id" = 1002
$PY $HELPER gen schemas/history/card_transaction.v0.avsc 10 5 >"$SS_TMP/v0.json"
$PY $HELPER encode schemas/history/card_transaction.v0.avsc "$v0id" <"$SS_TMP/v0.json" >"$SS_TMP/v0.hex"
"$AVROCAT" --registry "$SR" --topic events.raw decode card_transaction <"$SS_TMP/v0.hex" >"$SS_TMP/v0.out" 2>"$SS_TMP/err"
check "records python3-avro wrote under a registry id decode (resolved, defaults filled)" \
  test "$(jq -c 'select(.device_id == null and .auth_result == null and .ip_address == null) | .event_id' "$SS_TMP/v0.out" | wc -l)" -eq 10
check "decoded v0 records keep their values" \
  test "$(jq -c '[.event_id, .amount, .channel]' "$SS_TMP/v0.out")" = "$(jq -c '[.event_id, .amount, .channel]' "$SS_TMP/v0.json")"

echo 00000010920000 | "$AVROCAT" --registry "$SR" decode card_transaction >/dev/null 2>"$SS_TMP/err"
check "an id the registry does not know is reported as unknown" grep -q 'bad avro: unknown schema id 4242' "$SS_TMP/err"

kill "$SS_PID_sr"; wait "$SS_PID_sr" 2>/dev/null
"$AVROCAT" --registry "$SR" --topic events.raw encode card_transaction <"$SS_TMP/in.json" >/dev/null 2>"$SS_TMP/err"
rc=$?
check "an unreachable registry fails start-up with a clear error" \
  bash -c "[ $rc -eq 2 ] && grep -q 'avro registry: connect 127.0.0.1' '$SS_TMP/err'"
ss_done
