#!/usr/bin/env bash
# End to end: a bounded `make demo` (devkafka, redis-server, the five services,
# loadgen at a fixed seed, ~20k events with 12 invalid ones), then the topics
# are read back and checked against what the generator produced and what the
# demo's summary claims (tools/demo/check-run): one PRIMARY score per valid
# event, exactly the injected invalid events in the DLQ, drift results for
# every window, summary numbers equal to the topics. The README's command
# (`make demo DURATION=...`) is the one exercised.
# timeout: 600
. "$(dirname "$0")/lib.sh"
cd "$SS_ROOT"

check "README documents make demo DURATION" grep -q 'make demo DURATION=' README.md

RUN="$SS_TMP/run"
san=""
case "$BUILD" in *san*) san="SANITIZE=address,undefined" ;; esac
# 20 s at 1000 ev/s = 20k events; the summary and the topics must agree. 8 partitions
# keep each under the embedded Kafka's ~5 MiB per-partition cap, so every record can be read back
DEMO_RUN_DIR="$RUN" DEMO_VERIFY=1 DEMO_PARTITIONS=8 DEMO_RATE=1000 DEMO_SEED=42 DEMO_INVALID=12 DEMO_RETRAIN=0 \
  timeout -k 10 400 make --no-print-directory demo DURATION=20 $san >"$SS_TMP/demo.log" 2>&1
rc=$?
check "make demo DURATION=20 exits 0" test $rc -eq 0
[ $rc -ne 0 ] && tail -n 60 "$SS_TMP/demo.log" | sed 's/^/# /'
check "the demo printed a summary" grep -q '^summary' "$SS_TMP/demo.log"
check "the demo printed live status lines" grep -q '^\[ *[0-9]*s\] in ' "$SS_TMP/demo.log"
check "the demo printed the gateway URL and API key" grep -q 'API key:' "$SS_TMP/demo.log"
check "logs went to the run directory" test -s "$RUN/logs/scorer.log"
n=$(jq .events "$RUN/loadgen-summary.json" 2>/dev/null || echo 0)
check "loadgen produced ~20k events ($n)" test "$n" -ge 15000

# devkafka is in memory: with DEMO_VERIFY=1 the demo runs tools/demo/check-run
# against the topics before it stops, writing TAP lines to check.tap
check "the run was verified against its topics" test -s "$RUN/check.tap"
while IFS= read -r l; do
  case "$l" in
    ok\ *) ok "topics: ${l#ok * - }" ;;
    not\ ok*) not_ok "topics: ${l#not ok * - }" ;;
  esac
done < <(cat "$RUN/check.tap" 2>/dev/null)

# Ctrl-C: an unbounded demo, SIGINT to its process group as a terminal sends
# it; everything stops in order and the demo exits 0 with a summary
RUN2="$SS_TMP/run-ctrl-c"
/usr/bin/python3 - "$RUN2" "$SS_TMP/ctrl-c.log" $san <<'PY'
import os, signal, subprocess, sys, time
run, log, san = sys.argv[1], sys.argv[2], sys.argv[3:]
env = dict(os.environ, DEMO_RUN_DIR=run, DEMO_PARTITIONS="4")
with open(log, "w") as out:
    p = subprocess.Popen(["make", "--no-print-directory", "demo"] + san, stdout=out, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and p.poll() is None:
        if "] in " in open(log).read():  # the first status line: traffic is flowing
            break
        time.sleep(1)
    time.sleep(8)
    os.killpg(p.pid, signal.SIGINT)
    t0 = time.time()
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = -1
print("# ctrl-c: make exit %s after %.1f s" % (rc, time.time() - t0))
# make reports the interrupt itself (killed by SIGINT, as after any Ctrl-C);
# the demo script's own status is in exit-status
sys.exit(0 if rc in (0, -signal.SIGINT, 130) else 1)
PY
check "Ctrl-C stops the demo within 2 minutes" test $? -eq 0
check "the demo script exits 0 after Ctrl-C" test "$(cat "$RUN2/exit-status" 2>/dev/null)" = 0
check "Ctrl-C prints a summary" grep -q '^summary' "$SS_TMP/ctrl-c.log"
left=""
while read -r name pid; do kill -0 "$pid" 2>/dev/null && left="$left $name"; done < <(cat "$RUN2/pids" 2>/dev/null)
check "no process of the demo is left after Ctrl-C (${left:-none})" test -z "$left" -a -s "$RUN2/pids"
ss_done
