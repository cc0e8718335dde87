#!/usr/bin/python3
"""Train the benchmark model: 200 trees of depth 6 on random data with missing
values, saved as a streamscore bundle, plus test rows (float32, row-major).

    make_model.py OUTDIR [TREES] [DEPTH] [FEATURES] [ROWS]
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

out = sys.argv[1]
trees = int(sys.argv[2]) if len(sys.argv) > 2 else 200
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 6
nfeat = int(sys.argv[4]) if len(sys.argv) > 4 else 20
rows = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
rng = np.random.default_rng(3)
X = rng.normal(size=(20000, nfeat))
y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] + rng.normal(size=len(X)) > 0).astype(float)
X[rng.random(X.shape) < 0.05] = np.nan
b = xgb.train({"objective": "binary:logistic", "max_depth": depth, "eta": 0.1,
               "nthread": 2, "seed": 1}, xgb.DMatrix(X, label=y), trees)
d = os.path.join(out, "bench", "v1")
os.makedirs(d, exist_ok=True)
b.save_model(os.path.join(d, "model.json"))
feats = ["f%d" % i for i in range(nfeat)]
json.dump({"format": "streamscore.bundle/v1", "name": "bench", "version": "v1",
           "kind": "xgboost", "model_file": "model.json", "features": feats,
           "thresholds": {"review": 0.5, "decline": 0.9}, "top_reasons": 3},
          open(os.path.join(d, "bundle.json"), "w"))
Xt = rng.normal(size=(rows, nfeat)).astype(np.float32)
Xt[rng.random(Xt.shape) < 0.05] = np.nan
Xt.tofile(os.path.join(out, "rows.f32"))
print("%d %d" % (rows, nfeat))
