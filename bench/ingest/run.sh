#!/usr/bin/env bash
# Ingest benchmark: JSON events/s through streamscore-ingest (validation,
# Redis dedup, canonical Avro out) against the ceiling measured in the same
# run on the same devkafka: the foundation's pass-through (tools/passthrough)
# of the same messages. Prints both rates, ingest's peak RSS, and the ratio
# last. Builds nothing (run `make all` first).
#   bench/ingest/run.sh [N]   (default 100000 events; 16 partitions keep each
#                              under devkafka's ~5 MiB per-partition cap)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
N=${1:-100000}
PARTS=16
PY=/usr/bin/python3

ss_start_redis >/dev/null || exit 1
ss_start_kafka $PARTS 1 bench.passthrough >/dev/null || exit 1
echo "# generating and producing $N JSON events"
$PY services/ingest/tests/events_py.py gen "$N" 7 bench |
  jq -rc '[.card_id, (. | tojson)] | @tsv' |
  "$SS_BIN/sskafka" produce -b "$KAFKA_BROKERS" -t events.ingest -K $'\t' >/dev/null || exit 1

# Both are timed from the first message consumed to the last output
# acknowledged by Kafka (start-up and group join do not count). The ceiling is
# the foundation's pass-through (tools/passthrough: libs/common consumer and
# producer, store-after-ack, no work), which times itself; ingest is timed by
# polling its counters every 20 ms (ss_kafka_consumed_total > 0, then
# ingest_messages_out_total = N, counted on delivery).
pt=$(PT_IN=events.ingest PT_OUT=bench.passthrough GROUP_ID=bench-passthrough PT_EXIT_AFTER=$N \
  LOG_LEVEL=warn "$SS_BIN/passthrough") || exit 1
pt_rate=$(echo "$pt" | sed 's/.*= \([0-9.]*\) msgs\/s.*/\1/')
echo "$pt (libs/common consume->produce, same devkafka, same messages)"

# hot path: ingest from the beginning of the same topic, default configuration
port=$(ss_free_port)
HTTP_PORT=$port GROUP_ID=bench-ingest LOG_LEVEL=warn ss_spawn ingest env ${INGEST_ENV:-} "$SS_BIN/streamscore-ingest"
metrics() { curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" 2>/dev/null; }
rss_max=0 t_first= t_last= out=0 deadline=$((SECONDS + 180))
while [ $SECONDS -lt $deadline ]; do
  m=$(metrics)
  now=$(date +%s.%N)
  consumed=$(echo "$m" | awk '$1=="ss_kafka_consumed_total"{print $2}')
  out=$(echo "$m" | awk '$1=="ingest_messages_out_total"{print $2}'); out=${out:-0}
  rss=$(awk '/^VmRSS/{print $2}' /proc/"$SS_PID_ingest"/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
  [ -z "$t_first" ] && [ "${consumed:-0}" != 0 ] && t_first=$now
  [ "$out" -ge "$N" ] && { t_last=$now; break; }
  sleep 0.02
done
[ -n "$t_last" ] || { echo "ingest did not finish: out=$out of $N" >&2; exit 1; }
hwm=$(awk '/^VmHWM/{print $2}' /proc/"$SS_PID_ingest"/status)
kill -TERM "$SS_PID_ingest"; wait "$SS_PID_ingest" 2>/dev/null
secs=$(echo "$t_last - $t_first" | bc -l)
rate=$(echo "$N / $secs" | bc -l)
printf 'ingest: %d msgs in %.2f s = %.0f msgs/s (first consumed to last acked; JSON in, validated, deduped in Redis, canonical Avro out)\n' "$N" "$secs" "$rate"
printf 'ingest rss under load: peak %.1f MB (VmHWM %.1f MB)\n' "$(echo "$rss_max / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
printf 'ratio: %.2f\n' "$(echo "$rate / $pt_rate" | bc -l)"
