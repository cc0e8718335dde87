# Sourced by integration tests that run against a Schema Registry: the
# Confluent-compatible fake (fake_schema_registry.py) on SR_PORT, its state kept
# in $SS_TMP/sr.state so a restart remembers every id; and a hung registry
# (black_hole.py: accepts connections, never answers) on the same port.
SR_PORT=$(ss_free_port)
SR="http://127.0.0.1:$SR_PORT"
sr_start() {
  rm -f "$SS_TMP/sr.port"
  ss_spawn sr /usr/bin/python3 "$SS_ROOT/libs/common/tests/fake_schema_registry.py" --port "$SR_PORT" \
    --port-file "$SS_TMP/sr.port" --state "$SS_TMP/sr.state"
  ss_wait_for 10 test -s "$SS_TMP/sr.port"
}
sr_stop() { kill "$SS_PID_sr"; wait "$SS_PID_sr" 2>/dev/null; }
# sr_hang: the registry stops answering (the fake stops, a black hole listens)
sr_hang() {
  sr_stop
  ss_spawn blackhole /usr/bin/python3 "$SS_ROOT/libs/common/tests/black_hole.py" "$SR_PORT"
  ss_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SR_PORT"
}
sr_unhang() { kill "$SS_PID_blackhole"; wait "$SS_PID_blackhole" 2>/dev/null; }
# sr_register SUBJECT SCHEMA_FILE: prints the id
sr_register() {
  jq -Rs '{schema: .}' "$2" | curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data-binary @- "$SR/subjects/$1/versions" | jq -r .id
}
# sr_newer_schema IN OUT: IN plus an optional field, as another producer's newer writer
sr_newer_schema() {
  jq '.fields += [{"name": "producer_note", "type": ["null", "string"], "default": null}]' "$1" >"$2"
}
