#!/usr/bin/python3
"""Test fixture bundles for the scorer: a small model store.

    make_bundles.py STORE [NAME]

STORE/NAME/v1   xgboost binary:logistic, 30 trees depth 4
STORE/NAME/v2   xgboost binary:logistic, 60 trees depth 3 (different scores)
STORE/NAME/v3   logistic regression (for the shadow role)
STORE/NAME/bad-corrupt     v1 with bundle.json cut mid-way
STORE/NAME/bad-truncated   v1 with model.json cut mid-way
STORE/NAME/bad-wrongcount  v1's model, one feature fewer in bundle.json
STORE/NAME/bad-multiclass  multi:softprob model (unsupported)
Feature names are card-fraud features from features/card_fraud.json.
"""
import json
import os
import shutil
import sys

import numpy as np
import xgboost as xgb

FEATURES = [
    "card_txn_count_1h",
    "card_amount_sum_24h",
    "card_amount_ratio_mean_30d",
    "card_distinct_merchants_24h",
    "card_secs_since_last",
    "merchant_txn_count_1h",
    "device_txn_count_1h",
    "card_last_amount",
]


def training_data(rng, n):
    X = np.column_stack([
        rng.poisson(2, n),
        rng.gamma(2, 80, n),
        rng.gamma(2, 0.6, n),
        rng.poisson(1.5, n),
        rng.exponential(3000, n),
        rng.poisson(20, n),
        rng.poisson(1, n),
        rng.gamma(2, 50, n),
    ]).astype(float)
    logit = -3 + 0.6 * X[:, 0] + 0.8 * X[:, 2] + 0.4 * X[:, 3] - X[:, 4] / 5000
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, y


def manifest(name, version, kind, feats, extra):
    m = {
        "format": "streamscore.bundle/v1",
        "name": name,
        "version": version,
        "kind": kind,
        "features": feats,
        "thresholds": {"review": 0.3, "decline": 0.7},
        "top_reasons": 3,
        "training": {"created_at": "2026-11-24T10:00:00Z", "seed": 42},
    }
    m.update(extra)
    return m


def write(store, name, version, man, booster=None):
    d = os.path.join(store, name, version)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "bundle.json"), "w") as f:
        json.dump(man, f, indent=1)
    if booster is not None:
        booster.save_model(os.path.join(d, "model.json"))
    return d


def main():
    store = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "card-fraud"
    rng = np.random.default_rng(11)
    X, y = training_data(rng, 4000)
    dtrain = xgb.DMatrix(X, label=y)
    params = {"objective": "binary:logistic", "nthread": 2, "seed": 1}
    b1 = xgb.train(dict(params, max_depth=4, eta=0.3), dtrain, 30)
    b2 = xgb.train(dict(params, max_depth=3, eta=0.2), dtrain, 60)
    xgbm = {"model_file": "model.json"}
    d1 = write(store, name, "v1", manifest(name, "v1", "xgboost", FEATURES, xgbm), b1)
    write(store, name, "v2", manifest(name, "v2", "xgboost", FEATURES, xgbm), b2)
    w = [0.5, 0.002, 0.7, 0.3, -0.0002, 0.01, 0.2, 0.001]
    center = [2, 160, 1.2, 1.5, 3000, 20, 1, 100]
    write(store, name, "v3", manifest(name, "v3", "logistic", FEATURES,
                                      {"logistic": {"intercept": -3.0, "weights": w,
                                                    "center": center}}))

    d = os.path.join(store, name, "bad-corrupt")
    shutil.copytree(d1, d)
    text = open(os.path.join(d, "bundle.json")).read().replace('"v1"', '"bad-corrupt"')
    open(os.path.join(d, "bundle.json"), "w").write(text[: len(text) // 2])

    d = os.path.join(store, name, "bad-truncated")
    shutil.copytree(d1, d)
    man = manifest(name, "bad-truncated", "xgboost", FEATURES, xgbm)
    json.dump(man, open(os.path.join(d, "bundle.json"), "w"))
    text = open(os.path.join(d, "model.json")).read()
    open(os.path.join(d, "model.json"), "w").write(text[: len(text) * 2 // 3])

    write(store, name, "bad-wrongcount",
          manifest(name, "bad-wrongcount", "xgboost", FEATURES[:-1], xgbm), b1)

    Xm, _ = training_data(rng, 300)
    bm = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "nthread": 2},
                   xgb.DMatrix(Xm, label=rng.integers(0, 3, 300)), 3)
    write(store, name, "bad-multiclass",
          manifest(name, "bad-multiclass", "xgboost", FEATURES, xgbm), bm)


if __name__ == "__main__":
    main()
