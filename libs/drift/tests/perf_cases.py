#!/usr/bin/python3
"""Scores and delayed labels arriving in a shuffled order (labels before and
after their score, some never joined), with sklearn's metrics on the pairs
that should join. Output: `S id score`, `L id label event_ms label_ms` lines,
then `E review decline precision recall precision_d recall_d auc delay_mean joined`."""
import sys
import numpy as np
from sklearn.metrics import precision_score, recall_score, roc_auc_score

rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
n = 4000
scores = np.round(rng.beta(0.6, 4.0, n), 3)  # ties on purpose
labels = (rng.uniform(0, 1, n) < 0.05 + 0.8 * scores).astype(int)
event_ms = 1_700_000_000_000 + np.arange(n) * 10
delay = rng.integers(1000, 86_400_000, n)
has_label = rng.uniform(0, 1, n) < 0.8
arrivals = []
for i in range(n):
    arrivals.append((i * 10 + int(rng.integers(0, 50)), f"S e{i} {scores[i]!r}"))
    if has_label[i]:
        # labels may overtake their score (negative lag) or come much later
        lag = int(rng.integers(-500, 20000))
        arrivals.append((i * 10 + lag, f"L e{i} {labels[i]} {event_ms[i]} {event_ms[i] + delay[i]}"))
for j in range(300):  # labels for events never scored
    arrivals.append((int(rng.integers(0, n * 10)), f"L orphan{j} 1 0 1000"))
arrivals.sort(key=lambda a: a[0])
for _, line in arrivals:
    print(line)
idx = has_label
review, decline = 0.5, 0.9
y, s = labels[idx], scores[idx]
print("E", review, decline,
      repr(precision_score(y, s >= review)), repr(recall_score(y, s >= review)),
      repr(precision_score(y, s >= decline, zero_division=0)), repr(recall_score(y, s >= decline)),
      repr(roc_auc_score(y, s)), repr(float(np.mean(delay[idx]))), int(idx.sum()))
