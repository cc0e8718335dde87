#!/usr/bin/python3
"""Train XGBoost models on random data and write, for each, a streamscore
bundle plus XGBoost's own predictions and pred_contribs, for the C parity test
(test_xgb_parity.c).

    xgb_fixture.py OUTDIR

OUTDIR/store/parity/<case>/{bundle.json,model.json}   the bundles
OUTDIR/<case>.x        float64 rows (nrows x nfeat), NaN = missing
OUTDIR/<case>.pred     float64 predictions (XGBoost's float32 widened)
OUTDIR/<case>.contrib  float64 pred_contribs (nrows x (nfeat + 1))
OUTDIR/cases.txt       one line per case: name nrows nfeat objective ntrees depth
OUTDIR/store/bad/<case>/...  unsupported models (multi-class, gblinear, dart, categorical)
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

OUT = sys.argv[1]
RNG = np.random.default_rng(7)
NROWS = 2000

# name, objective, depth, trees, nfeat, missing rate, extra params
CASES = [
    ("logistic-d1-t1", "binary:logistic", 1, 1, 6, 0.1, {}),
    ("logistic-d3-t20", "binary:logistic", 3, 20, 8, 0.1, {}),
    ("logistic-d6-t50", "binary:logistic", 6, 50, 10, 0.2, {}),
    ("logistic-d2-t500", "binary:logistic", 2, 500, 8, 0.1, {"eta": 0.05}),
    ("logistic-d8-t10-base", "binary:logistic", 8, 10, 12, 0.3, {"base_score": 0.3}),
    ("reglogistic-d4-t30", "reg:logistic", 4, 30, 8, 0.1, {}),
    ("logitraw-d3-t15", "binary:logitraw", 3, 15, 7, 0.1, {}),
    ("squarederror-d5-t40", "reg:squarederror", 5, 40, 9, 0.15, {"base_score": 2.5}),
    ("poisson-d3-t20", "count:poisson", 3, 20, 6, 0.1, {}),
    ("named-d4-t10", "binary:logistic", 4, 10, 5, 0.1, {"_names": True}),
]


def data(n, nfeat, miss):
    X = RNG.normal(size=(n, nfeat))
    # a few repeated values, so thresholds land exactly on inputs
    X[:, 0] = np.round(X[:, 0], 1)
    logit = X[:, 0] * 1.5 - X[:, 1] + 0.5 * X[:, 2] * X[:, 3 % nfeat]
    mask = RNG.random(size=X.shape) < miss
    X[mask] = np.nan
    return X, logit


def labels(objective, logit):
    p = 1 / (1 + np.exp(-logit))
    if objective in ("binary:logistic", "binary:logitraw"):
        return (RNG.random(len(p)) < p).astype(float)
    if objective == "reg:logistic":
        return p
    if objective == "count:poisson":
        return RNG.poisson(np.exp(logit / 2)).astype(float)
    return logit * 3 + RNG.normal(size=len(p))


def bundle(dirpath, name, version, feats, model_file="model.json"):
    os.makedirs(dirpath, exist_ok=True)
    man = {
        "format": "streamscore.bundle/v1",
        "name": name,
        "version": version,
        "kind": "xgboost",
        "model_file": model_file,
        "features": feats,
        "thresholds": {"review": 0.5, "decline": 0.9},
        "top_reasons": 3,
    }
    with open(os.path.join(dirpath, "bundle.json"), "w") as f:
        json.dump(man, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, obj, depth, trees, nfeat, miss, extra in CASES:
        extra = dict(extra)
        use_names = extra.pop("_names", False)
        feats = ["f_%d" % i for i in range(nfeat)]
        X, logit = data(3000, nfeat, miss)
        y = labels(obj, logit)
        params = {"objective": obj, "max_depth": depth, "nthread": 2, "seed": 1}
        params.update(extra)
        dtrain = xgb.DMatrix(X, label=y, feature_names=feats if use_names else None)
        b = xgb.train(params, dtrain, trees)
        d = os.path.join(OUT, "store", "parity", name)
        bundle(d, "parity", name, feats)
        b.save_model(os.path.join(d, "model.json"))

        Xt, _ = data(NROWS, nfeat, miss)
        Xt[0, :] = np.nan  # every feature missing
        dtest = xgb.DMatrix(Xt, feature_names=feats if use_names else None)
        pred = b.predict(dtest).astype(np.float64)
        contrib = b.predict(dtest, pred_contribs=True).astype(np.float64)
        Xt.astype("<f8").tofile(os.path.join(OUT, name + ".x"))
        pred.astype("<f8").tofile(os.path.join(OUT, name + ".pred"))
        contrib.astype("<f8").tofile(os.path.join(OUT, name + ".contrib"))
        lines.append("%s %d %d %s %d %d" % (name, NROWS, nfeat, obj, trees, depth))

    # unsupported models, each a valid bundle around a model we must refuse
    X, logit = data(300, 4, 0.0)
    feats = ["f_%d" % i for i in range(4)]
    bad = {
        "multiclass": ({"objective": "multi:softprob", "num_class": 3}, np.floor(RNG.random(300) * 3)),
        "gblinear": ({"objective": "binary:logistic", "booster": "gblinear"}, (logit > 0).astype(float)),
        "dart": ({"objective": "binary:logistic", "booster": "dart"}, (logit > 0).astype(float)),
        "rank": ({"objective": "rank:pairwise"}, (logit > 0).astype(float)),
    }
    for name, (params, y) in bad.items():
        params = dict(params, max_depth=2, nthread=2)
        b = xgb.train(params, xgb.DMatrix(X, label=y), 3)
        d = os.path.join(OUT, "store", "bad", name)
        bundle(d, "bad", name, feats)
        b.save_model(os.path.join(d, "model.json"))
    # categorical split: XGBoost 1.7 needs pandas or explicit feature types for
    # it; mark a split categorical in an otherwise valid model instead
    b = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=(logit > 0)), 2)
    m = json.loads(b.save_raw("json"))
    tree = m["learner"]["gradient_booster"]["model"]["trees"][1]
    tree["split_type"][0] = 1
    tree["categories_nodes"] = [0]
    tree["categories_segments"] = [0]
    tree["categories_sizes"] = [1]
    tree["categories"] = [1]
    d = os.path.join(OUT, "store", "bad", "categorical")
    bundle(d, "bad", "categorical", feats)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(m, f)

    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
