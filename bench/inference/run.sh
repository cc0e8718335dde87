#!/usr/bin/env bash
# Tree inference benchmark: the streamscore C evaluator vs libxgboost's
# XGBoosterPredictFromDense on the same model (200 trees, depth 6) and rows.
# Builds nothing: run `make all` first. Prints the single-row speed ratio last.
#   bench/inference/run.sh [TREES] [DEPTH] [FEATURES] [ROWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin="$BUILD/bench/inference"
[ -x "$bin" ] || { echo "inference: $bin missing, run make all" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ss-bench-inference.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
read -r rows nfeat < <(OMP_NUM_THREADS=2 /usr/bin/python3 bench/inference/make_model.py "$tmp" \
  "${1:-200}" "${2:-6}" "${3:-20}" "${4:-10000}" 2>/dev/null)
echo "trees ${1:-200}, depth ${2:-6}"
OMP_NUM_THREADS=1 "$bin" "$tmp" "$tmp/rows.f32" "$rows" "$nfeat" 3
