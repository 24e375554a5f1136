"""Agreement statistics for judge calibration: Cohen's kappa (unweighted, linear, quadratic),
Krippendorff's alpha (ordinal), annotator-pair kappas and their mean, Fleiss' kappa, and
item-resampling bootstrap CIs.

Pure functions on numpy arrays; tests check them against scikit-learn, statsmodels, the
`krippendorff` package and simulated coverage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

WEIGHTS = (None, "linear", "quadratic")


def cohen_kappa(a: Sequence, b: Sequence, weights: str | None = None, labels: Sequence | None = None) -> float:
    """Cohen's kappa of two raters on the same items, on the categories `labels` (default: those
    either rater used; weights are |i - j| or (i - j)^2 in positions of the sorted categories, as
    scikit-learn's); NaN when chance agreement is perfect (both raters used one and the same
    category throughout)."""
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


def rating_scale(values) -> list:
    """The categories a weighted kappa is built on when none are given: every integer from the
    lowest to the highest value seen (so an unused middle point keeps the scale's spacing), or
    the sorted distinct values when they are not all integers (labels such as a/b/tie)."""
    seen = set(values)
    if seen and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in seen):
        return list(range(int(min(seen)), int(max(seen)) + 1))
    return sorted(seen)


@dataclass(frozen=True)
class PairKappa:
    annotator_a: str
    annotator_b: str
    n_items: int  # items both rated
    kappa: float  # NaN when undefined (both used one and the same category throughout)


def pairwise_kappas(ratings: dict[str, dict], weights: str | None = "quadratic", min_common: int = 5,
                    labels: Sequence | None = None) -> list[PairKappa]:
    """Cohen's kappa of every annotator pair that rated at least `min_common` items in common, on
    the categories `labels` (default: `rating_scale` of every rating by every annotator, the
    same categories for every pair; a pair's own categories would let annotators who used only
    1, 2 and 5 count 2-vs-5 as one step)."""
    if labels is None:
        labels = rating_scale(v for scores in ratings.values() for v in scores.values())
    out = []
    for (name_x, x), (name_y, y) in itertools.combinations(sorted(ratings.items()), 2):
        common = sorted(set(x) & set(y))
        if len(common) >= min_common:
            kappa = cohen_kappa([x[i] for i in common], [y[i] for i in common], weights, labels)
            out.append(PairKappa(name_x, name_y, len(common), kappa))
    return out


def mean_pairwise_kappa(ratings: dict[str, dict], weights: str | None = "quadratic", min_common: int = 5,
                        labels: Sequence | None = None) -> tuple[float, int]:
    """Mean Cohen's kappa over annotator pairs that rated at least `min_common` items in common
    (the human-human ceiling), on the scale `labels` (see pairwise_kappas); returns (mean, number
    of pairs averaged: pairs with an undefined kappa are left out), NaN with 0 pairs."""
    values = [p.kappa for p in pairwise_kappas(ratings, weights, min_common, labels) if not math.isnan(p.kappa)]
    return (float(np.mean(values)) if values else math.nan), len(values)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from an items x categories table of how many raters put each item in each
    category; every item must have the same number of raters (at least 2), who need not be the
    same people. NaN when chance agreement is perfect (one category throughout) or no items."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) == 0:
        return math.nan
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of raters on every item")
    m = raters[0]
    p = counts.sum(axis=0) / counts.sum()
    observed = float(((counts * counts).sum(axis=1) - m).mean() / (m * (m - 1)))
    chance = float((p * p).sum())
    return math.nan if chance >= 1 else (observed - chance) / (1 - chance)


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
    from scipy import stats
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denominator = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(axis=1) / denominator, np.nan)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant or there are under 3 pairs."""
    from scipy import stats
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(stats.spearmanr(a, b).statistic)
