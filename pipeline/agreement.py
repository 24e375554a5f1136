"""Agreement statistics for judge calibration: Cohen's kappa (unweighted, linear, quadratic),
Krippendorff's alpha (ordinal), mean pairwise annotator kappa, and item-resampling bootstrap CIs.

Pure functions on numpy arrays; tests check them against scikit-learn, the `krippendorff`
package and simulated coverage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

WEIGHTS = (None, "linear", "quadratic")


def cohen_kappa(a: Sequence[int], b: Sequence[int], weights: str | None = None,
                labels: Sequence[int] | None = None) -> float:
    """Cohen's kappa of two raters on the same items; NaN when chance agreement is perfect
    (both raters used one and the same category throughout)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b):
        raise ValueError("the two raters must rate the same items")
    if len(a) == 0:
        return math.nan
    cats = np.asarray(sorted(set(labels) if labels is not None else set(a.tolist()) | set(b.tolist())))
    index = {c: i for i, c in enumerate(cats.tolist())}
    k = len(cats)
    observed = np.zeros((k, k))
    np.add.at(observed, ([index[v] for v in a.tolist()], [index[v] for v in b.tolist()]), 1)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if weights is None:
        w = 1.0 - np.eye(k)
    else:
        grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
        w = grid if weights == "linear" else grid ** 2
        if weights not in ("linear", "quadratic"):
            raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    denominator = (w * expected).sum()
    return math.nan if denominator == 0 else float(1 - (w * observed).sum() / denominator)


def krippendorff_alpha_ordinal(data: np.ndarray) -> float:
    """Krippendorff's alpha with the ordinal metric. `data` is coders x units with NaN where a
    coder did not rate a unit; units with fewer than two ratings are not pairable and ignored."""
    data = np.asarray(data, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    if len(values) < 2:
        return math.nan
    index = {v: i for i, v in enumerate(values.tolist())}
    k = len(values)
    coincidence = np.zeros((k, k))
    for unit in data.T:
        rated = unit[~np.isnan(unit)]
        m = len(rated)
        if m < 2:
            continue
        counts = np.zeros(k)
        for v in rated.tolist():
            counts[index[v]] += 1
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        return math.nan
    # ordinal distance: (sum of the marginals from c to k, minus half of each end)^2
    cum = np.cumsum(n_c)
    delta = np.zeros((k, k))
    for c, kk in itertools.product(range(k), range(k)):
        lo, hi = min(c, kk), max(c, kk)
        between = cum[hi] - (cum[lo - 1] if lo > 0 else 0.0)
        delta[c, kk] = (between - (n_c[c] + n_c[kk]) / 2) ** 2
    observed = (coincidence * delta).sum()
    expected = (np.outer(n_c, n_c) * delta).sum() / (n - 1)
    return math.nan if expected == 0 else float(1 - observed / expected)


def mean_pairwise_kappa(ratings: dict[str, dict[str, int]], weights: str | None = "quadratic",
                        min_common: int = 5) -> tuple[float, int]:
    """Mean Cohen's kappa over annotator pairs that rated at least `min_common` items in common
    (the human-human ceiling); returns (mean, number of pairs), NaN with 0 pairs."""
    values = []
    for (_, x), (_, y) in itertools.combinations(sorted(ratings.items()), 2):
        common = sorted(set(x) & set(y))
        if len(common) >= min_common:
            kappa = cohen_kappa([x[i] for i in common], [y[i] for i in common], weights)
            if not math.isnan(kappa):
                values.append(kappa)
    return (float(np.mean(values)) if values else math.nan), len(values)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def bootstrap(n_items: int, statistic: Callable[[np.ndarray], float], *, resamples: int = 1000, level: float = 0.95,
              seed: int = 0, vectorized: Callable[[np.ndarray], np.ndarray] | None = None) -> Interval:
    """Percentile bootstrap CI of `statistic(indices)` resampling the items (rows) with
    replacement; resamples where the statistic is undefined (NaN) are dropped. `vectorized`,
    when given, computes the statistic of every resample at once from a (resamples, n) index
    matrix (the same draws, much faster)."""
    estimate = statistic(np.arange(n_items))
    if n_items < 2:
        return Interval(estimate, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n_items, (resamples, n_items))
    draws = vectorized(index) if vectorized else np.array([statistic(row) for row in index])
    draws = draws[~np.isnan(draws)]
    if len(draws) < resamples // 2:
        return Interval(estimate, math.nan, math.nan)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of two (r, n) arrays (average ranks for ties); NaN for a
    constant row."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denominator = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(axis=1) / denominator, np.nan)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant or there are under 3 pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(stats.spearmanr(a, b).statistic)
