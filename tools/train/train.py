#!/usr/bin/python3
"""streamscore training: offline store + labels -> XGBoost model bundle.

Reads the feature vectors the features service appended to the offline store
(Avro object container files of streamscore.FeatureVector), joins them with
the delayed labels (streamscore.Label, as Avro container files or JSON lines)
by event id, splits by event time (train on the earlier period, evaluate on
the later one: no leakage from the future), trains XGBoost deterministically,
reports AUC and precision/recall at the decision thresholds on the held-out
period, and writes a bundle (docs/model-bundle.md) with its drift baseline:

    <model-store>/<name>/<version>/{bundle.json, model.json}

With --promote it also makes the new version active in the registry (Redis
pointers, announced on pub/sub) so running scorers hot-reload it.

Run with Debian's python3 (python3-xgboost, python3-sklearn, python3-avro).
"""

import argparse
import datetime
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np

try:
    import avro.datafile
    import avro.io
    import xgboost as xgb
    from sklearn.metrics import precision_score, recall_score, roc_auc_score
except ImportError as e:  # pragma: no cover - environment problem, say what to install
    sys.exit("train: cannot import %s: run with /usr/bin/python3 and install python3-xgboost "
             "python3-sklearn python3-avro (scripts/deps.sh)" % e.name)

BUNDLE_FORMAT = "streamscore.bundle/v1"
BINS = 10
SAMPLE = 1000


def log(msg):
    print("train: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- input

def files_under(paths, exts, sub=None):
    """Files with one of the extensions under each path (file or directory),
    sorted. With `sub`, a directory holding that subdirectory (the offline
    store root: features/, labels/) is searched there only."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            if sub and os.path.isdir(os.path.join(p, sub)):
                p = os.path.join(p, sub)
            for ext in exts:
                out += glob.glob(os.path.join(p, "**", "*" + ext), recursive=True)
        elif os.path.exists(p):
            out.append(p)
        else:
            sys.exit("train: cannot read %s: no such file or directory" % p)
    return sorted(set(out))


def read_avro(path):
    """Records of one container file. A file the features service is still
    appending to may end in a partial block: keep what precedes it."""
    with open(path, "rb") as f:
        try:
            reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        except Exception as e:  # noqa: BLE001 - python3-avro raises assorted types
            log("skipping %s: %s" % (path, e))
            return
        n = 0
        try:
            for rec in reader:
                n += 1
                yield rec
        except Exception as e:  # noqa: BLE001
            log("%s: stopped after %d records at a partial block (%s)" % (path, n, type(e).__name__))
        finally:
            reader.close()


def millis(v):
    """timestamp-millis arrives as datetime from python3-avro, as int from JSON."""
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return int(round(v.timestamp() * 1000))
    return int(v)


def load_vectors(offline, include_open):
    """event_id -> FeatureVector dict (the first one seen; replays carry the same values)."""
    vectors = {}
    files = files_under(offline, [".avro"] + ([".avro.tmp"] if include_open else []), "features")
    if not files:
        sys.exit("train: no offline store files (*.avro) under %s" % ", ".join(offline))
    for path in files:
        n = 0
        for rec in read_avro(path):
            if "features" not in rec or "event_id" not in rec:
                break  # not a FeatureVector file (e.g. labels kept next to it)
            rec["event_time"] = millis(rec["event_time"])
            vectors.setdefault(rec["event_id"], rec)
            n += 1
    log("read %d feature vectors from %d files" % (len(vectors), len(files)))
    return vectors


def load_labels(paths, include_open):
    labels = {}
    files = files_under(paths, [".avro", ".jsonl", ".json"] + ([".avro.tmp"] if include_open else []),
                        "labels")
    for path in files:
        if path.endswith(".avro") or path.endswith(".avro.tmp"):
            recs = read_avro(path)
        else:
            recs = (json.loads(line) for line in open(path) if line.strip())
        for rec in recs:
            if "label" not in rec or "event_id" not in rec:
                continue
            # the latest label wins (an analyst may overturn a chargeback)
            prev = labels.get(rec["event_id"])
            t = millis(rec.get("label_time", 0))
            if prev is None or t >= prev[1]:
                labels[rec["event_id"]] = (int(rec["label"]), t)
    if not labels:
        sys.exit("train: no labels found in %s" % ", ".join(paths))
    log("read %d labels from %d files" % (len(labels), len(files)))
    return {k: v[0] for k, v in labels.items()}


def feature_order(vectors, features_file, only, exclude):
    """Model inputs: the definitions' order when the file is readable, else sorted."""
    seen = set()
    for v in vectors:
        seen.update(v["features"].keys())
    names = sorted(seen)
    if features_file and os.path.exists(features_file):
        try:
            defs = json.load(open(features_file))
            ordered = [f["name"] for f in defs.get("features", []) if f.get("name") in seen]
            names = ordered + [n for n in names if n not in ordered]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            log("cannot read feature order from %s (%s); using sorted names" % (features_file, e))
    if only:
        missing = [n for n in only if n not in seen]
        if missing:
            sys.exit("train: --features: not in the offline store: %s" % ", ".join(missing))
        names = list(only)
    return [n for n in names if n not in set(exclude or [])]


# ---------------------------------------------------------------- metrics and baseline

def numeric_baseline(values, rng):
    """values: 1-D array with NaN for null."""
    n = len(values)
    ok = values[~np.isnan(values)]
    out = {"type": "numeric", "null_rate": float(1 - len(ok) / n) if n else 0.0}
    if len(ok) == 0:
        out.update({"edges": [], "freqs": [], "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0,
                    "sample": []})
        return out
    edges = np.unique(np.quantile(ok, np.linspace(0, 1, BINS + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
        freqs = np.array([1.0])
    else:
        counts, _ = np.histogram(ok, bins=edges)
        freqs = counts / counts.sum()
    k = min(SAMPLE, len(ok))
    sample = np.sort(rng.choice(ok, size=k, replace=False))
    out.update({
        "edges": [float(e) for e in edges],
        "freqs": [float(f) for f in freqs],
        "mean": float(ok.mean()), "std": float(ok.std()),
        "min": float(ok.min()), "max": float(ok.max()),
        "sample": [float(s) for s in sample],
    })
    return out


def categorical_baseline(values):
    n = len(values)
    present = [v for v in values if v is not None]
    freqs = {}
    for v in present:
        freqs[v] = freqs.get(v, 0) + 1
    total = len(present) or 1
    return {"type": "categorical",
            "freqs": {k: freqs[k] / total for k in sorted(freqs)},
            "null_rate": float(1 - len(present) / n) if n else 0.0}


def at_threshold(y, p, t):
    pred = (p >= t).astype(int)
    return {"threshold": float(t),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "flagged": int(pred.sum())}


def pick_threshold(y, p, target_precision, fallback):
    """Lowest score threshold whose held-out precision reaches the target."""
    for t in sorted(set(np.round(p, 4))):
        pred = p >= t
        if pred.sum() >= 5 and y[pred].mean() >= target_precision:
            return float(t)
    return fallback


# ---------------------------------------------------------------- registry

def next_version(store, name):
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    taken = [os.path.basename(d) for d in glob.glob(os.path.join(store, name, day + ".*"))]
    n = max([int(m.group(1)) for m in (re.match(re.escape(day) + r"\.(\d+)$", t) for t in taken)
             if m] + [0])
    return "%s.%d" % (day, n + 1)


# Same pointer update as libs/model's registry (docs/model-bundle.md), for
# hosts without the scorer binary; it does not validate the bundle.
PROMOTE_LUA = """
local old = redis.call('GET', KEYS[1])
if old and old ~= ARGV[1] then
  redis.call('LPUSH', KEYS[2], old)
  redis.call('LTRIM', KEYS[2], 0, 99)
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[3], 'active ' .. ARGV[1])
return old
"""


def promote(args, version):
    """Make `version` active: the scorer's CLI when built (it validates the
    bundle first), else the registry pointers directly with redis-cli."""
    env = dict(os.environ, MODEL_STORE=args.model_store, MODEL_NAME=args.name,
               REDIS_URL=args.redis_url)
    scorer = shutil.which("streamscore-scorer") or os.path.join(
        os.environ.get("BUILD", "build"), "bin", "streamscore-scorer")
    if os.access(scorer, os.X_OK):
        r = subprocess.run([scorer, "promote", version], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("train: promote %s failed: %s" % (version, (r.stderr or r.stdout).strip()))
        log("promoted %s/%s (%s)" % (args.name, version, os.path.basename(scorer)))
        return
    k = "ss:model:%s:" % args.name
    r = subprocess.run(["redis-cli", "-u", args.redis_url, "--no-raw", "EVAL", PROMOTE_LUA, "3",
                        k + "active", k + "history", k + "changed", version],
                       capture_output=True, text=True)
    if r.returncode != 0 or "ERR" in r.stdout:
        sys.exit("train: promote %s failed: redis-cli: %s" % (version, (r.stderr or r.stdout).strip()))
    log("promoted %s/%s (previous: %s)" % (args.name, version, r.stdout.strip()))


# ---------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="train", description="Train an XGBoost model bundle from the offline store and labels.")
    ap.add_argument("--offline", nargs="+", default=[os.environ.get("OFFLINE_DIR", "offline")],
                    help="offline store directories or files (env OFFLINE_DIR, default offline)")
    ap.add_argument("--labels", nargs="+", default=None,
                    help="label files or directories, Avro or JSON lines (default: the offline store's labels/)")
    ap.add_argument("--include-open", action="store_true",
                    help="also read the hour files the features service is still writing (*.avro.tmp, "
                         "flushed blocks only): retraining while the pipeline runs")
    ap.add_argument("--model-store", default=os.environ.get("MODEL_STORE", "models"),
                    help="bundle directory (env MODEL_STORE, default models)")
    ap.add_argument("--name", default=os.environ.get("MODEL_NAME", "card-fraud"),
                    help="model name (env MODEL_NAME, default card-fraud)")
    ap.add_argument("--version", help="bundle version (default YYYY-MM-DD.N, the next free one)")
    ap.add_argument("--features-file", default=os.environ.get("FEATURES_FILE", "features/card_fraud.json"),
                    help="feature definitions, for the input order (env FEATURES_FILE)")
    ap.add_argument("--features", help="comma-separated model inputs (default: every feature)")
    ap.add_argument("--exclude", help="comma-separated features to leave out")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--test-fraction", type=float, default=0.25,
                    help="latest fraction of events held out for evaluation (default 0.25)")
    ap.add_argument("--rounds", type=int, default=150, help="boosting rounds (default 150)")
    ap.add_argument("--max-depth", type=int, default=5, help="tree depth (default 5)")
    ap.add_argument("--eta", type=float, default=0.1, help="learning rate (default 0.1)")
    ap.add_argument("--review", type=float, help="REVIEW threshold (default: precision >= 0.5 on held-out)")
    ap.add_argument("--decline", type=float, help="DECLINE threshold (default: precision >= 0.9 on held-out)")
    ap.add_argument("--top-reasons", type=int, default=3, help="reasons per decision (default 3)")
    ap.add_argument("--min-auc", type=float, default=0.0, help="fail (exit 3) below this held-out AUC")
    ap.add_argument("--promote", action="store_true", help="make the new version active")
    ap.add_argument("--promote-only", metavar="VERSION",
                    help="train nothing: make an existing VERSION active (rollback: promote the old one)")
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
                    help="registry for --promote (env REDIS_URL)")
    ap.add_argument("--report", help="also write the metrics as JSON to this file")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.promote_only:
        if not os.path.exists(os.path.join(args.model_store, args.name, args.promote_only, "bundle.json")):
            sys.exit("train: cannot promote %s: no bundle.json under %s" % (
                args.promote_only, os.path.join(args.model_store, args.name, args.promote_only)))
        promote(args, args.promote_only)
        return 0
    vectors = load_vectors(args.offline, args.include_open)
    labels = load_labels(args.labels or args.offline, args.include_open)

    rows = [v for k, v in vectors.items() if k in labels]
    unlabelled = len(vectors) - len(rows)
    if len(rows) < 200:
        sys.exit("train: only %d labelled feature vectors (%d without a label): need at least 200"
                 % (len(rows), unlabelled))
    rows.sort(key=lambda v: (v["event_time"], v["event_id"]))
    names = feature_order(rows, args.features_file,
                          args.features.split(",") if args.features else None,
                          args.exclude.split(",") if args.exclude else None)
    X = np.array([[np.nan if v["features"].get(n) is None else float(v["features"][n]) for n in names]
                  for v in rows], dtype=np.float64)
    y = np.array([labels[v["event_id"]] for v in rows], dtype=np.int32)

    # time split: the held-out set is the latest period
    cut = int(len(rows) * (1 - args.test_fraction))
    while cut < len(rows) - 1 and rows[cut]["event_time"] == rows[cut - 1]["event_time"]:
        cut += 1  # never split one millisecond across both sides
    Xtr, ytr, Xte, yte = X[:cut], y[:cut], X[cut:], y[cut:]
    for part, yy in (("training", ytr), ("held-out", yte)):
        if yy.sum() == 0 or yy.sum() == len(yy):
            sys.exit("train: the %s period has only one class (%d rows, %d positive): "
                     "generate more traffic" % (part, len(yy), int(yy.sum())))
    log("%d rows (%d unlabelled vectors skipped), %d features; train %d (%d fraud) until %s, "
        "test %d (%d fraud)" % (len(rows), unlabelled, len(names), len(ytr), ytr.sum(),
                                rows[cut - 1]["event_time"], len(yte), yte.sum()))

    params = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist",
              "max_depth": args.max_depth, "eta": args.eta, "subsample": 0.8,
              "colsample_bytree": 0.8, "min_child_weight": 1, "nthread": 1, "seed": args.seed}
    dtrain = xgb.DMatrix(Xtr, label=ytr, missing=np.nan, feature_names=names)
    dtest = xgb.DMatrix(Xte, label=yte, missing=np.nan, feature_names=names)
    booster = xgb.train(params, dtrain, num_boost_round=args.rounds)
    p = booster.predict(dtest)
    auc = float(roc_auc_score(yte, p))

    review = args.review if args.review is not None else pick_threshold(yte, p, 0.5, 0.5)
    decline = args.decline if args.decline is not None else pick_threshold(yte, p, 0.9, 0.9)
    decline = max(decline, review)
    metrics = {"auc": auc, "review": at_threshold(yte, p, review),
               "decline": at_threshold(yte, p, decline)}

    version = args.version or next_version(args.model_store, args.name)
    rng = np.random.default_rng(args.seed)
    baseline = {"rows": int(len(ytr)), "features": {}}
    for i, n in enumerate(names):
        baseline["features"][n] = numeric_baseline(Xtr[:, i], rng)
    cats = sorted({c for v in rows for c in v.get("categories", {})})
    for c in cats:
        baseline["features"][c] = categorical_baseline([v.get("categories", {}).get(c) for v in rows[:cut]])
    baseline["score"] = numeric_baseline(p.astype(np.float64), rng)

    gain = booster.get_score(importance_type="total_gain")
    total_gain = sum(gain.values()) or 1.0
    bundle = {
        "format": BUNDLE_FORMAT, "name": args.name, "version": version, "kind": "xgboost",
        "model_file": "model.json", "features": names,
        "thresholds": {"review": review, "decline": decline},
        "top_reasons": args.top_reasons, "baseline": baseline,
        "training": {
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_from": rows[0]["event_time"], "data_to": rows[-1]["event_time"],
            "test_from": rows[cut]["event_time"],
            "rows_train": int(len(ytr)), "rows_test": int(len(yte)),
            "positives_train": int(ytr.sum()), "positives_test": int(yte.sum()),
            "auc": auc, "precision": metrics["decline"]["precision"],
            "recall": metrics["decline"]["recall"], "metrics": metrics,
            "seed": args.seed, "params": params, "rounds": args.rounds,
            "definitions_version": rows[-1].get("definitions_version"),
            "importance": {n: gain.get(n, 0.0) / total_gain for n in names},
        },
    }

    out = os.path.join(args.model_store, args.name, version)
    if os.path.exists(out):
        sys.exit("train: %s exists: versions are immutable, choose another --version" % out)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    booster.save_model(os.path.join(tmp, "model.json"))
    with open(os.path.join(tmp, "bundle.json"), "w") as f:
        json.dump(bundle, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")
    os.rename(tmp, out)  # a scorer never sees a half-written bundle

    report = {"name": args.name, "version": version, "path": out, "rows": len(rows),
              "features": len(names), **metrics}
    print("model %s/%s: held-out AUC %.4f; REVIEW >= %.3f: precision %.3f recall %.3f; "
          "DECLINE >= %.3f: precision %.3f recall %.3f"
          % (args.name, version, auc, review, metrics["review"]["precision"],
             metrics["review"]["recall"], decline, metrics["decline"]["precision"],
             metrics["decline"]["recall"]))
    print("bundle written to %s" % out)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    if args.promote:
        promote(args, version)
    if auc < args.min_auc:
        log("held-out AUC %.4f is below --min-auc %.4f" % (auc, args.min_auc))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
