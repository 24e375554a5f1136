"""Statistics of the offline-online loop: a difference in means with user-clustered standard
errors, correlations with bootstrap CIs, request-level AUC, and the calibration fit used to
forecast an online effect from offline scores. Pure functions; tests compare them with
statsmodels, scipy and scikit-learn."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.calibration.agreement import Interval, bootstrap, spearman_rows


@dataclass(frozen=True)
class Delta:
    n_control: int
    n_treatment: int
    clusters: int
    diff: float  # treatment mean - control mean
    se: float  # cluster-robust (CR1, as statsmodels' cov_type="cluster")
    low: float
    high: float
    reason: str | None = None  # why se and the interval are NaN; None when they are defined


def clustered_difference(y: np.ndarray, treated: np.ndarray, cluster: np.ndarray, level: float = 0.95) -> Delta:
    """OLS of y on [1, treated] with standard errors clustered by `cluster` (CR1 with the
    G/(G-1) * (N-1)/(N-K) correction); the interval uses t with G-1 degrees of freedom.

    Never raises on a small experiment: the standard error and interval are NaN, with the
    reason, when an arm is empty, when CR1 is undefined (one cluster: G-1 = 0; two responses:
    N-K = 0), or when an arm's responses all come from one cluster: that arm's residuals then
    sum to zero inside the cluster, its variance drops out of the sandwich, and the standard
    error would be too small (zero when the arms are one cluster each)."""
    from scipy import stats
    y, t = np.asarray(y, dtype=float), np.asarray(treated, dtype=float)
    keep = np.isfinite(y)  # a score that is not a number says nothing (and would make everything NaN)
    y, t = y[keep], t[keep]
    # cluster ids as text: a missing id (None) is a cluster of its own, and mixed types still sort
    ids = np.asarray(["\x00missing" if c is None else str(c) for c in np.asarray(cluster, dtype=object)[keep]])
    groups = np.unique(ids, return_inverse=True)[1].reshape(-1)
    n, g = len(y), int(groups.max()) + 1 if len(y) else 0
    n_t = int(t.sum())
    if n_t < 1 or n - n_t < 1:
        return Delta(n - n_t, n_t, g, math.nan, math.nan, math.nan, math.nan,
                     "no treatment responses" if n_t < 1 else "no control responses")
    diff = float(y[t == 1].mean() - y[t == 0].mean())  # the OLS slope on a 0/1 regressor

    def undefined(reason: str) -> Delta:
        return Delta(n - n_t, n_t, g, diff, math.nan, math.nan, math.nan, reason)

    if g < 2:
        return undefined("one cluster: the CR1 factor G/(G-1) is undefined")
    if n <= 2:
        return undefined("two responses: the CR1 factor (N-1)/(N-K) is undefined")
    for arm, name in ((0, "control"), (1, "treatment")):
        if len(np.unique(groups[t == arm])) < 2:
            return undefined(f"the {name} responses all come from one cluster: its variance cannot be estimated")
    x = np.column_stack([np.ones(n), t])
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    scores = np.zeros((g, 2))
    np.add.at(scores, groups, x * resid[:, None])
    meat = scores.T @ scores
    correction = g / (g - 1) * (n - 1) / (n - 2)
    se = math.sqrt(max((xtx_inv @ meat @ xtx_inv)[1, 1] * correction, 0.0))
    q = stats.t.ppf(0.5 + level / 2, g - 1)
    return Delta(n - n_t, n_t, g, float(beta[1]), se, float(beta[1] - q * se), float(beta[1] + q * se))


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's r of each row pair of two (r, n) arrays; NaN for a constant row."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def kendall_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair of two (r, n) arrays (as scipy's kendalltau): the sum of
    concordance signs over pairs, over the square root of the untied pair counts."""
    sa = np.sign(a[:, :, None] - a[:, None, :])
    sb = np.sign(b[:, :, None] - b[:, None, :])
    numerator = (sa * sb).sum(axis=(1, 2))
    denominator = np.sqrt(np.abs(sa).sum(axis=(1, 2)) * np.abs(sb).sum(axis=(1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def correlations(x: np.ndarray, y: np.ndarray, *, resamples: int = 1000, seed: int = 0) -> dict[str, Interval]:
    """Pearson, Spearman and Kendall with percentile bootstrap CIs resampling the pairs; NaN
    under 3 pairs or when a side is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = {}
    for name, rows in (("pearson", pearson_rows), ("spearman", spearman_rows), ("kendall", kendall_rows)):
        def stat(idx, rows=rows):
            return float(rows(x[idx][None, :], y[idx][None, :])[0]) if len(idx) >= 3 else math.nan
        out[name] = bootstrap(len(x), stat, resamples=resamples, seed=seed,
                              vectorized=lambda idx, rows=rows: rows(x[idx], y[idx]))
    return out


def auc(score: np.ndarray, outcome: np.ndarray) -> float:
    """Area under the ROC curve of `score` for a binary outcome (ties count half): the
    Mann-Whitney U of the positives over n_pos * n_neg; NaN without both classes."""
    from scipy import stats
    score, outcome = np.asarray(score, dtype=float), np.asarray(outcome, dtype=bool)
    n_pos, n_neg = int(outcome.sum()), int((~outcome).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = stats.rankdata(score)
    return float((ranks[outcome].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class Fit:
    """Ordinary least squares of the online effect on the judge delta, across experiment pairs."""
    n: int
    intercept: float
    slope: float
    residual_sd: float
    x_mean: float
    sxx: float

    def predict(self, x: float, level: float = 0.95) -> Interval:
        """The predicted online effect at judge delta x with its prediction interval."""
        from scipy import stats
        mean = self.intercept + self.slope * x
        if self.n < 3 or self.sxx <= 0:
            return Interval(mean, math.nan, math.nan)
        se = self.residual_sd * math.sqrt(1 + 1 / self.n + (x - self.x_mean) ** 2 / self.sxx)
        q = stats.t.ppf(0.5 + level / 2, self.n - 2)
        return Interval(mean, mean - q * se, mean + q * se)


def fit_line(x: np.ndarray, y: np.ndarray) -> Fit | None:
    from scipy import stats
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.all(x == x[0]):
        return None
    res = stats.linregress(x, y)
    resid = y - (res.intercept + res.slope * x)
    sd = math.sqrt((resid ** 2).sum() / (len(x) - 2))
    return Fit(len(x), float(res.intercept), float(res.slope), sd, float(x.mean()), float(((x - x.mean()) ** 2).sum()))


def sample_size_per_arm(effect: float, unit_sd: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Users per arm for a two-sided z-test to detect an absolute `effect` (normal approximation)."""
    from scipy import stats
    if not effect or not unit_sd or math.isnan(effect) or math.isnan(unit_sd):
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(2 * (z * unit_sd / effect) ** 2)
