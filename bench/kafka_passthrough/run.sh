#!/usr/bin/env bash
# Benchmark: the libs/common pass-through (tools/passthrough: libevent bridge,
# in-flight offset tracking, store-after-ack) against a plain librdkafka
# consume->produce loop, on the same devkafka, same messages, one run.
# Prints both rates and the ratio last.   N=200000 SIZE=100 bench/kafka_passthrough/run.sh
set -euo pipefail
. "$(dirname "$0")/../../tests/lib.sh"
N=${N:-200000}
SIZE=${SIZE:-100}
PARTS=${PARTS:-8}
ss_start_kafka "$PARTS" 1 bench.in bench.out.plain bench.out.common >/dev/null
"$SS_BIN/sskafka" produce -b "$KAFKA_BROKERS" -t bench.in --count "$N" --size "$SIZE" >/dev/null
echo "kafka_passthrough: $N messages of $SIZE bytes, $PARTS partitions, devkafka (mock cluster)"
plain=$("$SS_BUILD/bench/kafka_passthrough" "$KAFKA_BROKERS" bench.in bench.out.plain bench-plain "$N")
echo "$plain"
common=$(KAFKA_BROKERS=$KAFKA_BROKERS PT_IN=bench.in PT_OUT=bench.out.common GROUP_ID=bench-common \
  PT_EXIT_AFTER=$N LOG_LEVEL=warn "$SS_BIN/passthrough")
echo "${common/passthrough:/libs\/common:}"
p=$(echo "$plain" | sed 's/.*= \([0-9.]*\) msgs\/s/\1/')
c=$(echo "$common" | sed 's/.*= \([0-9.]*\) msgs\/s/\1/')
awk -v c="$c" -v p="$p" 'BEGIN { printf "ratio: %.2f (libs/common / plain librdkafka; goal >= 0.8)\n", c / p }'
