#!/usr/bin/env bash
# timeout: 240
# At-least-once through libs/common: 100,000 messages through the pass-through
# pipeline on devkafka; SIGKILL mid-way; restart; every input must appear in the
# output at least once. Duplicates are reported (allowed), losses fail.
. "$(dirname "$0")/lib.sh"

N=100000
ss_start_kafka 8 1 passthrough.in passthrough.out || { not_ok "devkafka starts"; ss_done; }
diag "bootstrap $KAFKA_BROKERS"
# 100k x 100 B over 8 partitions stays far below the mock cluster's per-partition cap
out=$("$SS_BIN/sskafka" produce -b "$KAFKA_BROKERS" -t passthrough.in --count $N --size 100 2>&1)
check "produced $N inputs (acked)" test "$out" = "acked $N"

export PT_IN=passthrough.in PT_OUT=passthrough.out GROUP_ID=pt-kill
# first run: kill -9 once some output exists but well before the end
port=$(ss_free_port)
HTTP_PORT=$port ss_spawn pt1 "$SS_BIN/passthrough"
killed=0
for _ in $(seq 1200); do
  d=$(ss_metric "http://127.0.0.1:$port/metrics" ss_kafka_delivered_total)
  if [ "${d%.*}" -ge 5000 ]; then kill -KILL "$SS_PID_pt1"; killed=1; break; fi
  sleep 0.02
done
wait "$SS_PID_pt1" 2>/dev/null
check "first run was killed with SIGKILL mid-way" test $killed = 1
partial=$("$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t passthrough.out --format count --idle-ms 1500)
diag "outputs after the kill: $partial"
check "the kill happened mid-way (0 < outputs < $N)" test "$partial" -gt 0 -a "$partial" -lt $N

# second run: finishes the rest; exits after SIGTERM once caught up
ss_spawn pt2 "$SS_BIN/passthrough"
for _ in $(seq 600); do
  n=$("$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t passthrough.out --format count --idle-ms 1000)
  [ "$n" -ge $N ] && break
  sleep 1
done
kill -TERM "$SS_PID_pt2"; wait "$SS_PID_pt2"; rc=$?
check "restarted pipeline drains and exits 0 on SIGTERM" test $rc = 0

"$SS_BIN/sskafka" consume -b "$KAFKA_BROKERS" -t passthrough.out --idle-ms 2000 >"$SS_TMP/out.txt"
total=$(wc -l <"$SS_TMP/out.txt")
unique=$(sed 's/^pt:msg-\([0-9]*\).*/\1/' "$SS_TMP/out.txt" | sort -un | wc -l)
missing=$(sed 's/^pt:msg-\([0-9]*\).*/\1/' "$SS_TMP/out.txt" | sort -un |
  awk -v n=$N 'BEGIN{for(i=0;i<n;i++)want[i]=1} {delete want[$1]} END{print length(want)}')
diag "outputs: $total total, $unique unique, $((total - unique)) duplicates, $missing missing"
check "every input appears in the output (zero lost)" test "$missing" = 0
check "outputs are transformed inputs" test "$(grep -vc '^pt:msg-' "$SS_TMP/out.txt")" = 0

# a third run after the clean stop re-reads nothing: the drain committed every offset
port=$(ss_free_port)
HTTP_PORT=$port ss_spawn pt3 "$SS_BIN/passthrough"
ss_wait_for 30 grep -q "kafka assigned" "$SS_TMP/pt3.log"
sleep 2
consumed=$(ss_metric "http://127.0.0.1:$port/metrics" ss_kafka_consumed_total)
check "after a clean stop, a restart consumes nothing again (got ${consumed})" test "${consumed%.*}" = 0
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
check "/readyz is 200 with the assignment held" test "$ready" = 200
ss_done
