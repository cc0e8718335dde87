#!/usr/bin/env bash
# Replay every fuzz corpus (seeds + inputs libFuzzer found interesting) through
# its target's replay main: no crash, no sanitizer report (in the SANITIZE build),
# every rejection named. `make fuzz` grows the corpora.
. "$(dirname "$0")/lib.sh"
cd "$SS_ROOT"
for dir in tools/fuzz_*/; do
  t=$(basename "$dir"); corpus="fuzz/corpus/${t#fuzz_}"
  n=$(ls "$corpus" | wc -l)
  check "$t replays its $n corpus inputs" "$SS_BIN/$t" "$corpus"/*
done
ss_done
