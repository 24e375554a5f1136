"""Prediction-powered and active inference for a mean: a judge's scores on every item plus human
labels on a few give an interval for the human mean that is valid whatever the judge's bias and
narrower than the humans-only interval when the judge tracks the humans. Pure numpy/scipy.

PPI++ (`ppi_mean`; Angelopoulos, Duchi & Zrnic, "PPI++: Efficient Prediction-Powered Inference",
2024, arXiv:2311.01453), n labelled items (y, yhat) and N unlabelled judge scores yhat_u:
    theta = lam * mean(yhat_u) + mean(y - lam * yhat)
    se^2  = lam^2 * var(yhat_u) / N + var(y - lam * yhat) / n      (variances with ddof=0)
    lam   = cov(y, yhat) / ((1 + n/N) * var(yhat, yhat_u)), clipped to [0, 1]  (the variance-minimiser)

Active inference (`active_mean`; Zrnic & Candes, "Active Statistical Inference", ICML 2024),
a pool of N items with judge scores yhat, item i labelled with known probability pi_i (xi_i = 1):
    theta = mean_i [ lam * yhat_i + (y_i - lam * yhat_i) * xi_i / pi_i ]   (Horvitz-Thompson rectifier)
    se^2  = var_i of those per-item terms / N                               (ddof=0)
    lam   = the [0, 1]-clipped minimiser of that se^2 (closed form, the terms are linear in lam)

Both intervals are normal: theta -/+ z_{1-alpha/2} * se. `inclusion_probabilities` turns an
expected-judge-error score into labelling probabilities for a queue with a budget, and `draw`
samples the labelled set from them (independent Bernoulli, i.e. Poisson sampling).

The PPI++ functions reproduce ppi_py (`ppi_mean_ci`, `ppi_mean_pointestimate`,
`classical_mean_ci`) to floating-point accuracy; tests/calibration/test_ppi.py checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "ppi_mean", "active_mean", "inclusion_probabilities", "draw"]


@dataclass(frozen=True)
class Estimate:
    """An estimate of the human mean with its normal interval, next to the humans-only and the
    judge-only estimates of the same data.

    effective_labels = n_labeled * classical_se^2 / se^2: the number of human labels a humans-only
    estimate (the `classical_*` one, i.e. under the same sampling design) would need for an interval
    as narrow as this one, since the humans-only se^2 scales as 1/labels. So effective_labels /
    n_labeled is how many human labels each one is worth once the judge is added (1: the judge
    adds nothing). It is n_labeled when both se are 0 and inf when only this se is 0."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    lam: float  # power-tuning parameter used: 0 = humans only, 1 = plain PPI / active inference
    n_labeled: int
    n_unlabeled: int
    classical_estimate: float  # humans only
    classical_ci_low: float
    classical_ci_high: float
    classical_se: float
    judge_estimate: float  # judge-only mean over ALL items (labelled and unlabelled): biased if the judge is
    judge_ci_low: float  # its sampling interval: NOT an interval for the human mean
    judge_ci_high: float
    effective_labels: float


def _z(alpha: float, df: int | None = None) -> float:
    """The two-sided quantile: normal, or Student's t with `df` degrees of freedom."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        a = float("nan")
    if not 0.0 < a < 1.0:  # NaN fails too
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    # imported here: scipy.stats takes ~1 s to import, and this module is loaded with the
    # definitions by every command
    from scipy.stats import norm
    from scipy.stats import t as student_t

    return float(norm.ppf(1.0 - a / 2.0) if df is None else student_t.ppf(1.0 - a / 2.0, df))


INTERVALS = ("t", "normal")


def _interval_kind(interval: str) -> bool:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be 't' or 'normal', got {interval!r}")
    return interval == "t"


def _vector(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _lam_given(lam) -> float:
    lam = float(lam)
    if not np.isfinite(lam):
        raise ValueError(f"lam must be finite, got {lam}")
    return lam


def _effective_labels(n: int, classical_se: float, se: float) -> float:
    if se > 0:
        return n * classical_se**2 / se**2
    return float(n) if classical_se == 0 else float("inf")


def ppi_mean(y, yhat, yhat_unlabeled, *, alpha: float = 0.05, lam: float | None = None,
             interval: str = "t") -> Estimate:
    """PPI++ estimate of the mean of y with a (1 - alpha) interval (default alpha 0.05: a 95%
    interval; ppi_py's own default is 0.1).

    interval="t" (the default): sample variances with ddof=1 and Student's t quantile with n - 1
    degrees of freedom for the PPI and humans-only intervals: at the label counts a month has
    (10-40) the normal interval covers 87-93% instead of 95%. interval="normal": exactly ppi_py's
    (ddof=0, normal quantile), which the equality below refers to.

    y, yhat: human labels and judge scores of the n labelled items (same order); yhat_unlabeled:
    judge scores of the N unlabelled items, assumed drawn from the same distribution. lam=None
    power-tunes lam as ppi_py does (the variance-minimising value, clipped to [0, 1]); a float is
    used as given (1: plain PPI, 0: humans only). Equal to ppi_py.ppi_mean_ci(y, yhat,
    yhat_unlabeled, alpha=alpha, lam=lam) and ppi_py.ppi_mean_pointestimate; the classical fields
    equal ppi_py.classical_mean_ci(y, alpha=alpha) (mean, std with ddof=0 over sqrt(n)).

    Raises ValueError for n < 2, N < 1, len(y) != len(yhat), non-1-D input, NaN/inf, alpha
    outside (0, 1). A judge whose scores are all equal (labelled and unlabelled) gets lam = 0
    (ppi_py returns NaN there); a judge constant on the labelled items has no covariance with y
    there, so power tuning gives lam = 0 too: either way the result is the classical interval."""
    small = _interval_kind(interval)
    y, f, fu = _vector(y, "y"), _vector(yhat, "yhat"), _vector(yhat_unlabeled, "yhat_unlabeled")
    n, N = y.size, fu.size
    if f.size != n:
        raise ValueError(f"y and yhat must have the same length, got {n} and {f.size}")
    if n < 2:
        raise ValueError(f"need at least 2 labelled items, got {n}")
    if N < 1:
        raise ValueError("need at least 1 unlabelled judge score")
    z, zj = _z(alpha, n - 1 if small else None), _z(alpha)
    ddof = 1 if small else 0

    f_all = np.concatenate([f, fu])
    if lam is None:
        if np.ptp(f) == 0.0 or np.ptp(f_all) == 0.0:
            lam = 0.0  # no covariance with y on the labelled items / no variance at all
        else:
            # ppi_py's _calc_lam_glm for the mean (inverse Hessian = 1): the covariance with
            # ddof=0 over the labelled items, the judge's variance with ddof=1 (np.cov) over all
            cov = np.mean((y - y.mean()) * (f - f.mean()))
            var = np.var(f_all, ddof=1)
            lam = float(np.clip(cov / ((1.0 + n / N) * var), 0.0, 1.0))
    else:
        lam = _lam_given(lam)

    rect = y - lam * f
    est = float(np.mean(lam * fu) + np.mean(rect))
    se = float(np.sqrt(np.var(lam * fu, ddof=ddof if N > 1 else 0) / N + np.var(rect, ddof=ddof) / n))

    c_est, c_se = float(y.mean()), float(y.std(ddof=ddof) / np.sqrt(n))
    j_est, j_se = float(f_all.mean()), float(f_all.std() / np.sqrt(f_all.size))
    return Estimate(
        estimate=est, ci_low=est - z * se, ci_high=est + z * se, se=se, lam=float(lam),
        n_labeled=n, n_unlabeled=N,
        classical_estimate=c_est, classical_ci_low=c_est - z * c_se, classical_ci_high=c_est + z * c_se,
        classical_se=c_se,
        judge_estimate=j_est, judge_ci_low=j_est - zj * j_se, judge_ci_high=j_est + zj * j_se,
        effective_labels=_effective_labels(n, c_se, se),
    )


def active_mean(y_labeled, yhat_all, labeled_mask, pi, *, alpha: float = 0.05,
                lam: float | None = None, interval: str = "t") -> Estimate:
    """Active-inference estimate of the mean of y over the population the pool is drawn from,
    with a (1 - alpha) normal interval (default 95%).

    yhat_all: judge scores of all N pool items; pi: the probability with which each item was
    sent for labelling, known and fixed before the draw (independent Bernoulli/Poisson sampling,
    e.g. `draw(inclusion_probabilities(...))`), every pi in (0, 1]; labeled_mask: boolean, True
    for the items that were labelled; y_labeled: the human labels of those items only, IN MASK
    ORDER (y_labeled[k] belongs to the k-th True of labeled_mask), length labeled_mask.sum().

    Estimate: lam * mean(yhat_all) + (m_y - lam * m_f), the rectifier from the Hajek (ratio)
    inverse-probability-weighted means m_y = sum(w y)/sum(w), m_f = sum(w yhat)/sum(w) over the
    labelled items (w = xi/pi); se^2 = var(linearised per-item terms, ddof=0) / N with terms
    A + lam*B, A = m_y + w (y - m_y), B = (yhat - m_f)(1 - w); lam=None picks the lam in [0, 1]
    that minimises that se^2 (closed form -cov(A, B)/var(B); 0 when var(B) = 0, e.g. every pi = 1),
    a float is used as given. (The Horvitz-Thompson rectifier mean(w (y - lam yhat)) of Zrnic and
    Candes is unbiased too, but its variance carries mean(y - lam*yhat)^2 * (1/pi - 1): on a 1-5
    scale with lam < 1 that term dominates and made the active interval wider than PPI++'s.)

    Classical fields: the Hajek (ratio) inverse-probability-weighted humans-only mean
    sum(xi*y/pi) / sum(xi/pi), with the linearised se^2 = var_i(m + xi_i/pi_i (y_i - m), ddof=0)/N
    (the same per-item form as above with the constant m in place of lam*yhat); with constant pi
    and n = N*pi labels it is exactly ppi_py.classical_mean_ci. Hajek rather than Horvitz-Thompson
    because the HT humans-only mean (this estimator at lam = 0) has variance inflated by
    mean(y)^2 * (1/pi - 1). Judge fields: mean of yhat_all over the pool with se std(ddof=0)/sqrt(N).

    With constant pi = p the estimate is PPI++'s with yhat_unlabeled = yhat_all (the Hajek means
    are the labelled items' plain means).

    Raises ValueError for mismatched lengths, a non-boolean mask, pi outside (0, 1], fewer than
    2 labelled items, NaN/inf, alpha outside (0, 1).

    interval="t" (the default): the weights in the linearised terms are normalised to sum to N
    (sum(w) in place of its expectation N), the variance is scaled by n/(n - 1), and the quantile
    is Student's t with n - 1 degrees of freedom, n the labels; "normal": as above without them."""
    small = _interval_kind(interval)
    f = _vector(yhat_all, "yhat_all")
    p = _vector(pi, "pi")
    mask = np.asarray(labeled_mask)
    if mask.dtype != bool:
        raise ValueError(f"labeled_mask must be a boolean array, got dtype {mask.dtype}")
    N = f.size
    if mask.shape != (N,) or p.shape != (N,):
        raise ValueError(f"yhat_all, labeled_mask and pi must have the same length, got "
                         f"{N}, {mask.shape} and {p.shape}")
    if np.any(p <= 0.0) or np.any(p > 1.0):
        raise ValueError("every pi must be in (0, 1]: an item that can never be labelled biases the mean")
    n = int(mask.sum())
    if np.ndim(y_labeled) != 1 or np.size(y_labeled) != n:  # before the NaN check: a full-length
        # array with NaN for the unlabelled items is the likely mistake
        raise ValueError(f"y_labeled must hold the {n} labels of the masked items in mask order, "
                         f"got shape {np.shape(y_labeled)}")
    yl = _vector(y_labeled, "y_labeled")
    if n < 2:
        raise ValueError(f"need at least 2 labelled items, got {n}")
    z, zj = _z(alpha, n - 1 if small else None), _z(alpha)

    w = np.zeros(N)  # xi / pi
    w[mask] = 1.0 / p[mask]
    if small:
        w *= N / w.sum()  # the Hajek means below do not change; the linearised terms' spread does
    y = np.zeros(N)  # unlabelled y never enters (its weight is 0)
    y[mask] = yl
    # Hajek (ratio) means of the labelled y and yhat: the rectifier m_y - lam*m_f is centred, so
    # unequal weights do not inflate the variance by the residual's mean (large on a 1-5 scale
    # when lam < 1: Horvitz-Thompson pays mean(y - lam*yhat)^2 * (1/pi - 1))
    m_y = float(np.sum(w * y) / np.sum(w))
    m_f = float(np.sum(w * f) / np.sum(w))
    a, b = m_y + w * (y - m_y), (f - m_f) * (1.0 - w)  # per-item linearised term = a + lam * b
    if lam is None:
        var_b = np.var(b)
        if var_b == 0.0:
            lam = 0.0
        else:
            cov_ab = np.mean((a - a.mean()) * (b - b.mean()))
            lam = float(np.clip(-cov_ab / var_b, 0.0, 1.0))
    else:
        lam = _lam_given(lam)
    est = float(lam * f.mean() + m_y - lam * m_f)
    terms = a + lam * b + lam * m_f  # mean(terms) == est
    inflate = n / (n - 1) if small else 1.0
    se = float(np.sqrt(np.var(terms) / N * inflate))

    c_est = float(np.sum(w * y) / np.sum(w))
    c_se = float(np.sqrt(np.var(c_est + w * (y - c_est)) / N * inflate))
    j_est, j_se = float(f.mean()), float(f.std() / np.sqrt(N))
    return Estimate(
        estimate=est, ci_low=est - z * se, ci_high=est + z * se, se=se, lam=float(lam),
        n_labeled=n, n_unlabeled=N - n,
        classical_estimate=c_est, classical_ci_low=c_est - z * c_se, classical_ci_high=c_est + z * c_se,
        classical_se=c_se,
        judge_estimate=j_est, judge_ci_low=j_est - zj * j_se, judge_ci_high=j_est + zj * j_se,
        effective_labels=_effective_labels(n, c_se, se),
    )


def inclusion_probabilities(error_score, budget: float, *, floor: float = 0.2) -> np.ndarray:
    """Labelling probabilities pi for a pool of N items with an expected budget of `budget` labels.

    A `floor` share of the budget is spread uniformly (floor * budget / N each), the rest in
    proportion to error_score (the judge's expected error on the item, >= 0; all zero: uniform).
    The variance of active_mean is smallest with pi proportional to the root-mean-square error
    of y - lam*yhat given the item (Neyman allocation), so the judge's expected RMS error is the
    score to give, e.g. sqrt(p*(1-p)) for a calibrated pass probability p; the floor bounds the
    weights 1/pi where the score is wrong.
    Any pi above 1 is set to 1 and the excess redistributed over the uncapped items in proportion to
    their pi (repeated until none exceeds 1), which keeps sum(pi) == budget, pi non-decreasing in
    error_score, and every pi >= floor * budget / N (so > 0 when floor > 0, as active_mean needs).
    (With floor 0, if the capped items take all the error mass, the remaining budget is spread
    evenly over the zero-score items.) 0 < budget <= N; 0 <= floor <= 1."""
    e = _vector(error_score, "error_score")
    N = e.size
    if N == 0:
        raise ValueError("error_score is empty")
    if np.any(e < 0):
        raise ValueError("error_score must be >= 0")
    budget = float(budget)
    if not (0.0 < budget <= N):
        raise ValueError(f"budget must be in (0, N={N}], got {budget}")
    floor = float(floor)
    if not (0.0 <= floor <= 1.0):
        raise ValueError(f"floor must be in [0, 1], got {floor}")

    total = e.sum()
    share = e / total if total > 0 else np.full(N, 1.0 / N)
    pi = floor * budget / N + (1.0 - floor) * budget * share
    capped = np.zeros(N, dtype=bool)
    for _ in range(N + 1):
        over = ~capped & (pi >= 1.0)
        if not over.any():
            break
        capped |= over
        pi[capped] = 1.0
        free = ~capped
        if not free.any():
            break
        rest, mass = budget - capped.sum(), pi[free].sum()
        # floor 0 and zero scores can leave no mass to scale: spread the rest evenly then
        pi[free] = pi[free] * (rest / mass) if mass > 0 else rest / free.sum()
    return pi


def draw(pi, rng) -> np.ndarray:
    """Which items to label: independent Bernoulli(pi_i) draws (Poisson sampling) as a boolean
    mask. rng: a numpy Generator (or a seed for np.random.default_rng)."""
    p = _vector(pi, "pi")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("every pi must be in [0, 1]")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return rng.random(p.size) < p
