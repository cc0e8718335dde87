#!/usr/bin/env bash
# Training tool on generated data: the bundle is complete (docs/model-bundle.md),
# its held-out AUC is above the floor, the same seed gives the same model, and
# the scorer accepts it (promote validates by loading it).
# The feature vectors come from a Python fixture (tests/fixture.py) so this test
# needs no running pipeline; tests/test_e2e_demo.sh trains on the real features
# service's offline store.
# timeout: 300
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"
AUC_FLOOR=0.85
T="$SS_TMP"

"$SS_BIN/loadgen" --out "$T/events.jsonl" --labels-out "$T/labels.jsonl" --events 60000 \
  --rate 50 --cards 5000 --start-time 1795000000000 --status-interval 0 --summary "$T/lg.json"
check "loadgen generated training traffic" test $? -eq 0
mkdir -p "$T/offline/2026-11-18"
/usr/bin/python3 tools/train/tests/fixture.py "$T/events.jsonl" schemas/feature_vector.avsc \
  "$T/offline/2026-11-18/part-0.avro"
check "fixture wrote an offline store file" test -s "$T/offline/2026-11-18/part-0.avro"

tools/train/train --offline "$T/offline" --labels "$T/labels.jsonl" --model-store "$T/models" \
  --version a --seed 7 --min-auc "$AUC_FLOOR" --report "$T/a.json" >"$T/train-a.log" 2>&1
check "training succeeds with held-out AUC >= $AUC_FLOOR ($(jq -r .auc "$T/a.json" 2>/dev/null))" test $? -eq 0
tools/train/train --offline "$T/offline" --labels "$T/labels.jsonl" --model-store "$T/models" \
  --version b --seed 7 >"$T/train-b.log" 2>&1
check "second training run succeeds" test $? -eq 0
check "same data and seed: identical model.json" \
  cmp -s "$T/models/card-fraud/a/model.json" "$T/models/card-fraud/b/model.json"
tools/train/train --offline "$T/offline" --labels "$T/labels.jsonl" --model-store "$T/models" \
  --version b >"$T/train-c.log" 2>&1
check "an existing version is never overwritten" test $? -ne 0

/usr/bin/python3 - "$T" <<'PY'
import json, math, sys
T = sys.argv[1]
a = json.load(open(T + "/models/card-fraud/a/bundle.json"))
b = json.load(open(T + "/models/card-fraud/b/bundle.json"))
def check(name, cond):
    print(("ok" if cond else "not ok") + " - " + name)
for x in (a, b):
    x["training"].pop("created_at"); x.pop("version")
check("same seed: identical bundle apart from version and time", a == b)
check("bundle format and kind", a["format"] == "streamscore.bundle/v1" and a["kind"] == "xgboost"
      and a["model_file"] == "model.json")
check("thresholds ordered in (0,1)", 0 < a["thresholds"]["review"] <= a["thresholds"]["decline"] < 1)
base = a["baseline"]["features"]
check("a numeric baseline per model input", all(base[f]["type"] == "numeric" for f in a["features"]))
ok = True
for f in a["features"]:
    d = base[f]
    if d["edges"]:
        ok &= len(d["freqs"]) == len(d["edges"]) - 1 and abs(sum(d["freqs"]) - 1) < 1e-9
        ok &= d["min"] == d["edges"][0] and d["max"] == d["edges"][-1]
        ok &= 0 < len(d["sample"]) <= 1000 and 0 <= d["null_rate"] < 1
check("numeric baselines: quantile edges, freqs sum to 1, sample", ok)
cats = [k for k, v in base.items() if v["type"] == "categorical"]
check("categorical baselines from categories (%s)" % ",".join(cats),
      set(cats) == {"channel", "merchant_category"} and
      all(abs(sum(base[c]["freqs"].values()) - 1) < 1e-9 for c in cats))
s = a["baseline"]["score"]
check("score baseline from held-out predictions", s["type"] == "numeric" and 0 <= s["min"] <= s["max"] <= 1)
t = a["training"]
check("training metadata: time split without overlap", t["data_from"] < t["test_from"] <= t["data_to"]
      and t["rows_train"] + t["rows_test"] == 60000 - 0)
m = t["metrics"]
check("precision/recall reported at both thresholds", all(0 <= m[k][q] <= 1 for k in ("review", "decline")
      for q in ("precision", "recall")))
PY

# the scorer loads the bundle: its promote command validates before switching
if [ -x "$SS_BIN/streamscore-scorer" ]; then
  ss_start_redis
  tools/train/train --offline "$T/offline" --labels "$T/labels.jsonl" --model-store "$T/models" \
    --version c --promote >"$T/train-promote.log" 2>&1
  check "train --promote: the scorer loads and activates the bundle" test $? -eq 0
  check "registry points at the new version" \
    test "$(redis-cli -p "$REDIS_PORT" GET ss:model:card-fraud:active)" = c
else
  not_ok "streamscore-scorer is built (needed to check the bundle loads)"
fi
ss_done
