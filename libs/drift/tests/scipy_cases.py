#!/usr/bin/python3
"""Generate drift-statistics cases with SciPy/sklearn as the reference.

Prints one case per line: `<kind> <ints...> <values...> <expected...>`, floats
in repr form. libs/drift/tests/test_scipy.c runs this with /usr/bin/python3,
recomputes every case in C and compares within the tolerances stated there.
"""
import sys
import numpy as np
from scipy import stats, special
from scipy.spatial import distance
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
out = sys.stdout


def emit(kind, ints, *arrays):
    parts = [kind] + [str(i) for i in ints]
    for a in arrays:
        parts += [repr(float(v)) for v in np.ravel(a)]
    out.write(" ".join(parts) + "\n")


# Kolmogorov-Smirnov: exact (equal and unequal sizes, ties) and asymptotic
ks_cases = [(100, 100, 0.0), (1000, 1000, 0.1), (1000, 733, 0.05), (50, 2000, 0.3),
            (5000, 1000, 0.02), (300, 200, 1.0), (1000, 1000, 0.0), (37, 41, 0.5),
            (10000, 1000, 0.03), (12000, 3000, 0.04), (20000, 15000, 0.01),
            (15000, 400, 0.1), (11000, 11000, 0.0)]
for n, m, shift in ks_cases:
    x = rng.normal(0, 1, n)
    y = rng.normal(shift, 1, m)
    r = stats.ks_2samp(x, y)
    emit("ks", [n, m], x, y, [r.statistic, r.pvalue])
# ties: discrete values
for n, m in [(500, 400), (800, 800)]:
    x = np.round(rng.normal(0, 1, n), 1)
    y = np.round(rng.normal(0.05, 1, m), 1)
    r = stats.ks_2samp(x, y)
    emit("ks", [n, m], x, y, [r.statistic, r.pvalue])

# kstwo.sf directly over the asymptotic branch's regions
for n in [400, 2400, 6000, 50000]:
    for d in [0.002, 0.01, 0.02, 0.03, 0.05, 0.1, 0.3, 0.6]:
        emit("kstwo", [n], [d], [stats.kstwo.sf(d, n)])

# Wasserstein-1
for n, m, shift, scale in [(1000, 1000, 0.0, 1.0), (1000, 500, 1.0, 2.0), (30, 70, 0.2, 1.0),
                           (2000, 1000, -0.5, 0.5)]:
    x = rng.normal(0, 1, n)
    y = rng.normal(shift, scale, m)
    emit("wass", [n, m], x, y, [stats.wasserstein_distance(x, y)])
x = np.round(rng.exponential(1, 700), 1)
y = np.round(rng.exponential(1.3, 300), 1)
emit("wass", [700, 300], x, y, [stats.wasserstein_distance(x, y)])

# chi-squared against baseline frequencies
for k, n, tilt in [(4, 10000, 0.0), (4, 10000, 0.02), (10, 500, 0.0), (3, 200000, 0.01), (25, 5000, 0.1)]:
    f = rng.dirichlet(np.ones(k) * 2)
    p = np.clip(f + rng.normal(0, tilt, k), 1e-3, None)
    p /= p.sum()
    obs = rng.multinomial(n, p).astype(float)
    exp = f * obs.sum()
    r = stats.chisquare(obs, exp)
    emit("chi", [k], obs, exp, [r.statistic, r.pvalue])

# Jensen-Shannon, base e and base 2
for k in [2, 4, 10, 30]:
    p = rng.dirichlet(np.ones(k))
    q = rng.integers(0, 100, k).astype(float)
    q[0] = 0.0
    emit("js", [k], p, q, [distance.jensenshannon(p, q), distance.jensenshannon(p, q, base=2)])

# PSI against the direct formula (eps = 1e-4)
for k in [5, 10, 20]:
    e = rng.dirichlet(np.ones(k))
    a = rng.multinomial(5000, rng.dirichlet(np.ones(k))).astype(float)
    a[1] = 0.0
    ef = np.maximum(e / e.sum(), 1e-4)
    af = np.maximum(a / a.sum(), 1e-4)
    emit("psi", [k], e, a, [np.sum((af - ef) * np.log(af / ef))])

# regularised incomplete gamma
for a_, x_ in [(0.5, 0.1), (1.5, 3.0), (4.5, 2.0), (12.0, 30.0), (100.0, 90.0), (2.0, 200.0), (50.0, 51.0)]:
    emit("gamma", [], [a_, x_], [special.gammainc(a_, x_), special.gammaincc(a_, x_)])

# ROC AUC with ties (sklearn)
for n in [50, 1000, 3000]:
    s = np.round(rng.uniform(0, 1, n), 2)
    l = (rng.uniform(0, 1, n) < 0.2 + 0.5 * s).astype(int)
    emit("auc", [n], s, l, [roc_auc_score(l, s)])
