"""Prediction-powered (PPI++) and active inference for a mean: equality with ppi_py, the reference
implementation, and coverage/width by simulation (fixed seeds, so every number is reproducible).

The simulated eval: an item's true pass probability q ~ Beta(0.5, 0.5) (most items clear-cut,
some borderline), the human label y ~ Bernoulli(q), the judge's score yhat = clip(q + N(0, 0.1))
(calibrated but noisy). The human mean is E[q] = 0.5."""

from __future__ import annotations

import math

import numpy as np
import ppi_py
import pytest
from scipy.stats import norm

from pipeline.calibration.ppi import Estimate, active_mean, draw, inclusion_probabilities, ppi_mean

Z95 = float(norm.ppf(0.975))
TRUTH = 0.5


def _eval_items(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    q = rng.beta(0.5, 0.5, size)
    y = (rng.random(size) < q).astype(float)
    yhat = np.clip(q + rng.normal(0.0, 0.1, size), 0.0, 1.0)
    return y, yhat


def _f(x) -> float:
    """ppi_py returns shape-(1,) arrays for a 1-D mean."""
    return float(np.squeeze(x))


def _coverage_tolerance_is_three_se(reps: int, level: float = 0.95, tol: float = 0.015) -> None:
    # 1.5 points must be at least 3 standard errors of the coverage estimate, or a correct
    # interval fails too often (and a wrong one passes too easily)
    assert 3 * math.sqrt(level * (1 - level) / reps) <= tol


# ---------------------------------------------------------------------------------------------
# equality with ppi_py


@pytest.mark.parametrize(
    "seed, n, N, rho, alpha",
    [(0, 50, 500, 0.9, 0.1), (1, 200, 1000, 0.5, 0.05), (2, 1000, 300, 0.1, 0.1),
     (3, 30, 10000, 0.99, 0.05), (4, 400, 4000, 0.0, 0.1)],
)
def test_ppi_mean_matches_ppi_py_on_uniform_samples(seed, n, N, rho, alpha):
    # y uniform, the judge a mix of y and independent uniform noise: rho sets the correlation,
    # and n/N enters the power-tuning formula, so both vary
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=n + N)
    yhat = rho * y + (1 - rho) * rng.uniform(size=n + N)
    Y, Yhat, Yhat_u = y[:n], yhat[:n], yhat[n:]

    e = ppi_mean(Y, Yhat, Yhat_u, alpha=alpha, interval="normal")  # ppi_py's interval
    lo, hi = ppi_py.ppi_mean_ci(Y, Yhat, Yhat_u, alpha=alpha, lam=None)  # power-tuned
    assert e.ci_low == pytest.approx(float(np.squeeze(lo)), abs=1e-8)
    assert e.ci_high == pytest.approx(float(np.squeeze(hi)), abs=1e-8)
    point = ppi_py.ppi_mean_pointestimate(Y, Yhat, Yhat_u, lam=None)
    assert e.estimate == pytest.approx(float(np.squeeze(point)), abs=1e-8)
    assert 0.0 <= e.lam <= 1.0
    # the tuned lam is the one ppi_py uses: its interval at that lam is the same interval
    lo_l, hi_l = ppi_py.ppi_mean_ci(Y, Yhat, Yhat_u, alpha=alpha, lam=e.lam)
    assert (e.ci_low, e.ci_high) == pytest.approx((_f(lo_l), _f(hi_l)), abs=1e-8)
    # the interval is estimate -/+ z * se
    z = norm.ppf(1 - alpha / 2)
    assert e.ci_high - e.estimate == pytest.approx(z * e.se, rel=1e-12)

    c_lo, c_hi = ppi_py.classical_mean_ci(Y, alpha=alpha)
    assert (e.classical_ci_low, e.classical_ci_high) == pytest.approx((c_lo, c_hi), abs=1e-8)
    assert e.classical_estimate == pytest.approx(Y.mean(), abs=1e-12)
    assert (e.n_labeled, e.n_unlabeled) == (n, N)
    assert e.judge_estimate == pytest.approx(yhat.mean(), abs=1e-12)  # over labelled + unlabelled
    assert e.effective_labels == pytest.approx(n * e.classical_se**2 / e.se**2, rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 1.4])
def test_a_given_lam_is_used_as_given_like_ppi_py(lam):
    rng = np.random.default_rng(11)
    y, yhat = _eval_items(rng, 1300)
    Y, Yhat, Yhat_u = y[:300], yhat[:300], yhat[300:]
    e = ppi_mean(Y, Yhat, Yhat_u, alpha=0.1, lam=lam, interval="normal")
    lo, hi = ppi_py.ppi_mean_ci(Y, Yhat, Yhat_u, alpha=0.1, lam=lam)
    assert e.lam == lam  # not clipped, not re-tuned
    assert (e.ci_low, e.ci_high) == pytest.approx((_f(lo), _f(hi)), abs=1e-8)
    point = ppi_py.ppi_mean_pointestimate(Y, Yhat, Yhat_u, lam=lam)
    assert e.estimate == pytest.approx(_f(point), abs=1e-8)
    if lam == 0.0:  # humans only: the classical interval exactly
        assert (e.ci_low, e.ci_high, e.se) == pytest.approx(
            (e.classical_ci_low, e.classical_ci_high, e.classical_se), abs=1e-12)
        assert e.effective_labels == pytest.approx(300, rel=1e-12)


def test_a_constant_judge_gets_lam_zero_and_the_classical_interval():
    rng = np.random.default_rng(5)
    y = rng.uniform(size=100)
    # constant everywhere: ppi_py's tuning formula is 0/0 (NaN); ours says the judge adds nothing
    e = ppi_mean(y, np.full(100, 0.3), np.full(900, 0.3))
    assert e.lam == 0.0
    assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx(
        (e.classical_estimate, e.classical_ci_low, e.classical_ci_high), abs=1e-12)
    # constant on the labelled items only: no covariance with y there, so lam 0 as well, and
    # ppi_py agrees
    yhat_u = rng.uniform(size=900)
    e = ppi_mean(y, np.full(100, 0.3), yhat_u, interval="normal")
    lo, hi = ppi_py.ppi_mean_ci(y, np.full(100, 0.3), yhat_u, alpha=0.05)
    assert e.lam == 0.0 and e.ci_low == pytest.approx(float(np.squeeze(lo)), abs=1e-8)
    assert e.ci_high == pytest.approx(float(np.squeeze(hi)), abs=1e-8)
    assert e.se == pytest.approx(e.classical_se, abs=1e-15)


def test_the_default_t_interval_for_a_months_few_labels():
    """The default interval uses ddof=1 variances and Student's t with n - 1 degrees of freedom
    (the normal one covers 87-93% at 10-40 labels): the humans-only interval is scipy's t
    interval, and the PPI one widens ppi_py's by the same two factors."""
    from scipy import stats

    rng = np.random.default_rng(21)
    y, yhat = _eval_items(rng, 1012)
    Y, Yhat, Yhat_u = y[:12], yhat[:12], yhat[12:]
    e = ppi_mean(Y, Yhat, Yhat_u)
    lo, hi = stats.t.interval(0.95, 11, loc=Y.mean(), scale=stats.sem(Y))
    assert (e.classical_ci_low, e.classical_ci_high) == pytest.approx((lo, hi), abs=1e-12)
    normal = ppi_mean(Y, Yhat, Yhat_u, interval="normal")
    assert e.lam == normal.lam and e.estimate == normal.estimate
    rect = Y - e.lam * Yhat
    se = np.sqrt(e.lam**2 * np.var(Yhat_u, ddof=1) / 1000 + np.var(rect, ddof=1) / 12)
    assert e.ci_high - e.estimate == pytest.approx(stats.t.ppf(0.975, 11) * se, rel=1e-12)
    with pytest.raises(ValueError, match="interval"):
        ppi_mean(Y, Yhat, Yhat_u, interval="wald")


def test_estimate_is_a_frozen_record():
    e = ppi_mean([0.0, 1.0, 1.0], [0.1, 0.8, 0.7], [0.5, 0.9])
    assert isinstance(e, Estimate)
    with pytest.raises(AttributeError):
        e.estimate = 0.0  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# PPI++ by simulation


def test_ppi_interval_covers_and_is_narrower_than_humans_only():
    reps, n, N = 4000, 200, 2000
    _coverage_tolerance_is_three_se(reps)
    rng = np.random.default_rng(7)
    cover = np.empty(reps, dtype=bool)
    width, c_width, c_cover, eff = (np.empty(reps) for _ in range(4))
    for r in range(reps):
        y, yhat = _eval_items(rng, n + N)
        e = ppi_mean(y[:n], yhat[:n], yhat[n:])
        cover[r] = e.ci_low <= TRUTH <= e.ci_high
        c_cover[r] = e.classical_ci_low <= TRUTH <= e.classical_ci_high
        width[r], c_width[r] = e.ci_high - e.ci_low, e.classical_ci_high - e.classical_ci_low
        eff[r] = e.effective_labels
    # observed (seed 7): coverage 0.944 (classical 0.948), width 0.105 vs classical 0.138
    assert abs(cover.mean() - 0.95) <= 0.015
    assert abs(c_cover.mean() - 0.95) <= 0.015
    assert width.mean() <= c_width.mean()
    # effective_labels says the same thing in labels: n * (classical width / PPI width)^2
    assert np.mean(eff) > n
    assert np.mean(eff) == pytest.approx(np.mean(n * (c_width / width) ** 2), rel=1e-9)


def test_a_biased_judge_is_corrected():
    # the judge's score is the human label plus 0.7 plus a little noise: its mean is 0.7 off,
    # PPI++ uses only how it co-varies with y and removes the bias with the labelled items
    reps, n, N = 2000, 200, 2000
    _coverage_tolerance_is_three_se(reps)
    rng = np.random.default_rng(8)
    est, judge, cover, judge_cover, lam = (np.empty(reps) for _ in range(5))
    for r in range(reps):
        q = rng.beta(0.5, 0.5, n + N)
        y = (rng.random(n + N) < q).astype(float)
        yhat = y + 0.7 + rng.normal(0.0, 0.05, n + N)
        e = ppi_mean(y[:n], yhat[:n], yhat[n:])
        est[r], judge[r], lam[r] = e.estimate, e.judge_estimate, e.lam
        cover[r] = e.ci_low <= TRUTH <= e.ci_high
        judge_cover[r] = e.judge_ci_low <= TRUTH <= e.judge_ci_high
    assert judge.mean() - TRUTH == pytest.approx(0.7, abs=0.005)
    assert judge_cover.mean() == 0.0  # the judge-only interval is no interval for the human mean
    # unbiased: the mean over replications within 0.002 of the truth (its standard error is
    # sd/sqrt(2000) = 0.00026, so this is ~8 of them; observed -0.00005)
    assert abs(est.mean() - TRUTH) <= 0.002
    assert abs(cover.mean() - 0.95) <= 0.015
    assert lam.mean() > 0.85  # an almost exact judge is used almost fully (optimum ~1/(1+n/N))


def test_a_useless_judge_is_switched_off():
    # pure noise, independent of y: power tuning drives lam to ~0 and the interval back to the
    # humans-only one (plain PPI, lam = 1, would be wider)
    reps, n, N = 1000, 200, 2000
    rng = np.random.default_rng(9)
    lam, ratio, ratio_plain = (np.empty(reps) for _ in range(3))
    for r in range(reps):
        y = (rng.random(n) < 0.5).astype(float)
        noise = rng.uniform(size=n + N)
        e = ppi_mean(y, noise[:n], noise[n:])
        lam[r] = e.lam
        ratio[r] = e.se / e.classical_se
        ratio_plain[r] = ppi_mean(y, noise[:n], noise[n:], lam=1.0).se / e.classical_se
    assert lam.mean() < 0.1  # observed 0.04
    assert abs(ratio.mean() - 1.0) <= 0.03  # widths within 3%
    assert ratio_plain.mean() > 1.1


# ---------------------------------------------------------------------------------------------
# active inference


def test_active_interval_covers_and_beats_humans_only_at_equal_cost():
    # a pool of 2000 judged items, 200 labels expected; items are sent to humans with
    # probabilities from the judge's own expected RMS error sqrt(yhat (1 - yhat))
    reps, N, budget = 4000, 2000, 200
    _coverage_tolerance_is_three_se(reps)
    rng = np.random.default_rng(10)
    y, yhat = _eval_items(rng, N)
    score = np.sqrt(yhat * (1 - yhat))
    assert np.corrcoef(score, np.abs(y - yhat))[0, 1] > 0.4  # the score tracks the real error
    cover = np.empty(reps, dtype=bool)
    width, ipw_width, n_lab = (np.empty(reps) for _ in range(3))
    for r in range(reps):
        y, yhat = _eval_items(rng, N)
        pi = inclusion_probabilities(np.sqrt(yhat * (1 - yhat)), budget)
        mask = draw(pi, rng)
        e = active_mean(y[mask], yhat, mask, pi)
        cover[r] = e.ci_low <= TRUTH <= e.ci_high
        width[r], ipw_width[r] = e.ci_high - e.ci_low, e.classical_ci_high - e.classical_ci_low
        n_lab[r] = e.n_labeled
    assert abs(n_lab.mean() - budget) <= 1.0  # equal labelling cost on average
    # observed (seed 10): coverage 0.9475, width 0.103 (PPI++ on a uniform sample of 200: 0.105),
    # IPW humans-only 0.174
    assert abs(cover.mean() - 0.95) <= 0.015
    assert width.mean() <= ipw_width.mean()
    # humans only on a uniform sample of the same budget: y is Bernoulli(0.5), so its interval
    # is 2 * z * 0.5 / sqrt(200) = 0.139 wide
    assert width.mean() <= 2 * Z95 * 0.5 / math.sqrt(budget)


def test_active_with_constant_pi_is_ppi_on_the_whole_pool():
    # exact algebra: with pi = p everywhere the Hajek means are the labelled items' plain means, so
    # the active estimate is PPI++'s with yhat_unlabeled = the whole pool, whatever the label count
    rng = np.random.default_rng(16)
    N, p = 4000, 0.05
    y, yhat = _eval_items(rng, N)
    pi = np.full(N, p)
    mask = draw(pi, rng)
    a = active_mean(y[mask], yhat, mask, pi)
    b = ppi_mean(y[mask], yhat[mask], yhat, lam=a.lam)
    assert mask.sum() != N * p  # (seed 16: 218 labels)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    # with exactly N p labels the two point estimates coincide, and the Hajek humans-only
    # interval is ppi_py's classical one
    exact = np.zeros(N, dtype=bool)
    exact[rng.choice(N, int(N * p), replace=False)] = True
    a = active_mean(y[exact], yhat, exact, pi, interval="normal")
    b = ppi_mean(y[exact], yhat[exact], yhat, lam=a.lam, interval="normal")
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    assert a.se == pytest.approx(b.se, rel=0.05)  # differs by the O(1/N) terms in the docstring
    assert (a.classical_ci_low, a.classical_ci_high) == pytest.approx(
        ppi_py.classical_mean_ci(y[exact], alpha=0.05), abs=1e-10)


def test_active_with_constant_pi_is_nearly_ppi_on_bernoulli_samples():
    # statistically: over Bernoulli(p) draws, the two estimators agree to a small fraction of a
    # standard error and report the same se on average (observed: rms difference 0.09 se, se
    # ratio 1.005, the estimates' spreads within 0.4%)
    reps, N, p = 1000, 4000, 0.05
    rng = np.random.default_rng(3)
    diff, se_ratio, est_a, est_b = (np.empty(reps) for _ in range(4))
    for r in range(reps):
        y, yhat = _eval_items(rng, N)
        pi = np.full(N, p)
        mask = draw(pi, rng)
        a, b = active_mean(y[mask], yhat, mask, pi), ppi_mean(y[mask], yhat[mask], yhat)
        diff[r], se_ratio[r] = (a.estimate - b.estimate) / b.se, a.se / b.se
        est_a[r], est_b[r] = a.estimate, b.estimate
    assert math.sqrt(np.mean(diff**2)) <= 0.2
    assert abs(se_ratio.mean() - 1.0) <= 0.02
    assert est_a.std() == pytest.approx(est_b.std(), rel=0.05)


def test_active_fields():
    rng = np.random.default_rng(13)
    y, yhat = _eval_items(rng, 500)
    pi = inclusion_probabilities(np.sqrt(yhat * (1 - yhat)), 100)
    mask = draw(pi, rng)
    e = active_mean(y[mask], yhat, mask, pi, alpha=0.1)
    assert (e.n_labeled, e.n_unlabeled) == (mask.sum(), 500 - mask.sum())
    assert e.judge_estimate == pytest.approx(yhat.mean(), abs=1e-12)
    w = 1 / pi[mask]
    assert e.classical_estimate == pytest.approx(np.sum(w * y[mask]) / np.sum(w), abs=1e-12)  # Hajek
    from scipy import stats

    assert e.ci_high - e.estimate == pytest.approx(stats.t.ppf(0.95, mask.sum() - 1) * e.se, rel=1e-12)
    assert 0.0 <= e.lam <= 1.0
    # the tuned lam minimises the reported se over [0, 1]
    grid = [active_mean(y[mask], yhat, mask, pi, lam=lam).se for lam in np.linspace(0, 1, 21)]
    assert e.se <= min(grid) + 1e-12
    # lam = 0 is the Hajek humans-only mean
    assert active_mean(y[mask], yhat, mask, pi, lam=0.0).estimate == pytest.approx(e.classical_estimate, abs=1e-12)
    # everything labelled (pi = 1): the sample mean, whatever lam
    full = active_mean(y, yhat, np.ones(500, dtype=bool), np.ones(500))
    assert full.lam == 0.0 and full.estimate == pytest.approx(y.mean(), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# labelling probabilities


def test_inclusion_probabilities_meet_the_budget_cap_and_floor():
    rng = np.random.default_rng(14)
    N, budget, floor = 1000, 150.0, 0.2
    score = rng.exponential(size=N)
    score[:10] *= 200  # a few items so likely wrong that their share exceeds 1: capped
    pi = inclusion_probabilities(score, budget, floor=floor)
    assert pi.sum() == pytest.approx(budget, abs=1e-9)
    assert pi.max() <= 1.0 and np.sum(pi == 1.0) >= 10
    assert pi.min() >= floor * budget / N - 1e-15
    order = np.argsort(score, kind="stable")
    assert np.all(np.diff(pi[order]) >= -1e-15)  # more expected error, more likely labelled
    # the uncapped items keep the floor + proportional shape, all scaled up by one common factor
    # (the capped items' excess, spread over them)
    free = pi < 1.0
    base = floor * budget / N + (1 - floor) * budget * score / score.sum()
    scale = pi[free] / base[free]
    assert np.allclose(scale, scale[0], rtol=1e-12) and scale[0] > 1.0


def test_inclusion_probabilities_edge_cases():
    # no information: uniform
    assert inclusion_probabilities(np.zeros(8), 2) == pytest.approx(np.full(8, 0.25))
    assert inclusion_probabilities([3.0, 1.0, 0.0, 9.0], 4) == pytest.approx(np.ones(4))  # budget N: all
    assert inclusion_probabilities([3.0, 1.0, 0.0, 9.0], 2, floor=1.0) == pytest.approx(np.full(4, 0.5))
    # floor 0: the zero-score item gets nothing unless the cap forces the budget onto it
    assert inclusion_probabilities([1.0, 1.0, 0.0, 0.0], 1, floor=0.0) == pytest.approx([0.5, 0.5, 0, 0])
    assert inclusion_probabilities([1.0, 0.0, 0.0], 2, floor=0.0) == pytest.approx([1.0, 0.5, 0.5])


def test_draw_is_independent_bernoulli():
    pi = np.array([0.05, 0.3, 0.5, 0.9, 1.0, 0.0])
    reps = 20000
    masks = draw(np.tile(pi, reps), np.random.default_rng(15)).reshape(reps, pi.size)
    assert masks.dtype == bool
    se = np.sqrt(pi * (1 - pi) / reps)
    assert np.all(np.abs(masks.mean(0) - pi) <= 4 * se + 1e-12)
    assert np.array_equal(draw(pi, 3), draw(pi, np.random.default_rng(3)))  # a seed works too


# ---------------------------------------------------------------------------------------------
# input validation


def test_ppi_mean_rejects_bad_input():
    y, f, fu = np.array([0.0, 1.0, 1.0]), np.array([0.1, 0.9, 0.8]), np.array([0.5, 0.4])
    with pytest.raises(ValueError, match="at least 2 labelled"):
        ppi_mean([1.0], [0.9], fu)
    with pytest.raises(ValueError, match="same length"):
        ppi_mean(y, f[:2], fu)
    with pytest.raises(ValueError, match="NaN"):
        ppi_mean(np.array([0.0, np.nan, 1.0]), f, fu)
    with pytest.raises(ValueError, match="NaN"):
        ppi_mean(y, f, np.array([0.5, np.inf]))
    with pytest.raises(ValueError, match="unlabelled"):
        ppi_mean(y, f, np.array([]))
    with pytest.raises(ValueError, match="one-dimensional"):
        ppi_mean(y.reshape(-1, 1), f, fu)
    for alpha in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            ppi_mean(y, f, fu, alpha=alpha)
    with pytest.raises(ValueError, match="lam"):
        ppi_mean(y, f, fu, lam=float("nan"))


def test_active_mean_rejects_bad_input():
    yhat = np.array([0.1, 0.9, 0.8, 0.4])
    mask = np.array([True, True, False, True])
    pi = np.full(4, 0.5)
    y3 = np.array([0.0, 1.0, 1.0])
    active_mean(y3, yhat, mask, pi)  # the valid call the cases below break one thing of
    with pytest.raises(ValueError, match="boolean"):
        active_mean(y3, yhat, mask.astype(int), pi)  # an index array would be misread
    with pytest.raises(ValueError, match="mask order"):
        active_mean(np.array([0.0, 1.0, np.nan, 1.0]), yhat, mask, pi)  # not the full-length form
    with pytest.raises(ValueError, match="same length"):
        active_mean(y3, yhat, mask, np.full(3, 0.5))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        active_mean(y3, yhat, mask, np.array([0.5, 0.5, 0.0, 0.5]))  # an unlabellable item
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        active_mean(y3, yhat, mask, np.array([0.5, 1.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="at least 2 labelled"):
        active_mean([1.0], yhat, np.array([True, False, False, False]), pi)
    with pytest.raises(ValueError, match="NaN"):
        active_mean(np.array([0.0, np.nan, 1.0]), yhat, mask, pi)
    with pytest.raises(ValueError, match="alpha"):
        active_mean(y3, yhat, mask, pi, alpha=2.0)


def test_inclusion_probabilities_and_draw_reject_bad_input():
    with pytest.raises(ValueError, match=">= 0"):
        inclusion_probabilities([1.0, -0.1, 2.0], 1)
    with pytest.raises(ValueError, match="budget"):
        inclusion_probabilities([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="budget"):
        inclusion_probabilities([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="floor"):
        inclusion_probabilities([1.0, 2.0], 1, floor=1.5)
    with pytest.raises(ValueError, match="NaN"):
        inclusion_probabilities([1.0, np.nan], 1)
    with pytest.raises(ValueError, match="empty"):
        inclusion_probabilities([], 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        draw(np.array([0.5, 1.2]), np.random.default_rng(0))
