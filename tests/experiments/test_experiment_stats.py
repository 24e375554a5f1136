"""Experiment statistics against independent references (SciPy, statsmodels) and simulation.

Tolerances: closed forms that should agree to floating point use rtol 1e-9; the two-proportion
comparison differs from statsmodels' Wald test only by n versus n - 1 in the variance (rtol 1e-3
at n = 20,000); simulated coverages and rates are held within 3 simulation standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats import proportion
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

from pipeline.experiments.analysis import segment_heterogeneity
from pipeline.experiments.stats import (
    Moments,
    arm_estimate,
    compare,
    cuped_estimate,
    cuped_theta,
    heterogeneity,
    holm,
    mean_moments,
    non_inferiority,
    power_analysis,
    ratio_moments,
    sequential_halfwidth,
    srm_p_value,
)


def welch(a: np.ndarray, b: np.ndarray, **kw):
    return compare(arm_estimate(mean_moments(a), False), arm_estimate(mean_moments(b), False), **kw)


def test_welch_matches_scipy_ttest_ind_unequal_variances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 2, 300), rng.normal(10.4, 3.5, 180)
    ours = welch(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert ours.diff == pytest.approx(b.mean() - a.mean(), rel=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.df == pytest.approx(ref.df, rel=1e-9)
    assert (ours.diff_low, ours.diff_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_two_proportions_match_statsmodels_wald():
    rng = np.random.default_rng(2)
    a, b = (rng.random(20_000) < 0.10).astype(float), (rng.random(20_000) < 0.11).astype(float)
    ours = welch(a, b)
    ref = proportion.test_proportions_2indep(b.sum(), len(b), a.sum(), len(a), method="wald", compare="diff")
    low, high = proportion.confint_proportions_2indep(b.sum(), len(b), a.sum(), len(a), method="wald", compare="diff")
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-3)
    assert (ours.diff_low, ours.diff_high) == pytest.approx((low, high), rel=1e-3)


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, 0.005, 0.04]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]), rel=1e-12)


def test_relative_ci_covers_the_true_lift_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    sims, n, true_lift = 2000, 400, 0.05
    covered = 0
    for _ in range(sims):
        a = rng.exponential(2.0, n)  # skewed, like revenue or latency
        b = rng.exponential(2.0 * (1 + true_lift), n)
        c = welch(a, b)
        covered += c.rel_low <= true_lift <= c.rel_high
    se = math.sqrt(0.95 * 0.05 / sims)
    assert abs(covered / sims - 0.95) < 3 * se, covered / sims


def test_ratio_metric_delta_method_interval_covers_the_true_difference():
    # per-user requests d ~ 1 + Poisson(4), thumbs-down y ~ Binomial(d, p): the request-level rate
    rng = np.random.default_rng(4)
    sims, n, p_c, p_t = 1500, 500, 0.10, 0.12
    covered = 0
    for _ in range(sims):
        d_c, d_t = 1 + rng.poisson(4, n), 1 + rng.poisson(4, n)
        y_c, y_t = rng.binomial(d_c, p_c), rng.binomial(d_t, p_t)
        c = compare(arm_estimate(ratio_moments(y_c, d_c), True), arm_estimate(ratio_moments(y_t, d_t), True), welch=False)
        covered += c.diff_low <= p_t - p_c <= c.diff_high
    se = math.sqrt(0.95 * 0.05 / sims)
    assert abs(covered / sims - 0.95) < 3 * se, covered / sims


def test_cuped_variance_reduction_is_one_minus_rho_squared():
    rng = np.random.default_rng(5)
    n, rho = 200_000, 0.6
    x = rng.normal(0, 1, 2 * n)
    y = rho * x + math.sqrt(1 - rho ** 2) * rng.normal(0, 1, 2 * n)
    arms = [mean_moments(y[:n] + 1.0, x[:n]), mean_moments(y[n:] + 1.1, x[n:])]
    c = cuped_theta(arms)
    assert c.variance_reduction == pytest.approx(rho ** 2, abs=0.01)
    plain = [arm_estimate(m, False) for m in arms]
    adjusted = [cuped_estimate(m, c) for m in arms]
    observed_reduction = 1 - adjusted[0].var_mean / plain[0].var_mean
    assert observed_reduction == pytest.approx(rho ** 2, abs=0.01)
    assert adjusted[1].mean - adjusted[0].mean == pytest.approx(0.1, abs=0.01)  # still unbiased
    # and equal to an OLS regression of y on the arm and the covariate (statsmodels-free closed form)
    xx = np.column_stack([np.ones(2 * n), np.r_[np.zeros(n), np.ones(n)], x])
    beta = np.linalg.lstsq(xx, np.r_[y[:n] + 1.0, y[n:] + 1.1], rcond=None)[0]
    assert adjusted[1].mean - adjusted[0].mean == pytest.approx(beta[1], abs=1e-3)


def test_ratio_cuped_is_unbiased_covers_and_reduces_variance_as_it_reports():
    # per-user propensity p_i drives both the pre-period and the experiment's thumbs-down rate;
    # the true difference in request-level rates is known in closed form
    rng = np.random.default_rng(11)
    sims, n, lift = 1000, 600, 0.02
    plain_diffs, adj_diffs, reported, covered, reductions = [], [], [], 0, []
    for _ in range(sims):
        arms = []
        for effect in (0.0, lift):
            p = rng.beta(1, 5, n)
            z, d = 1 + rng.poisson(20, n), 1 + rng.poisson(5, n)  # a longer pre-period
            arms.append(ratio_moments(rng.binomial(d, np.clip(p + effect, 0, 1)), d, rng.binomial(z, p), z))
        c = cuped_theta(arms, ratio=True)
        plain = [arm_estimate(m, True) for m in arms]
        adj = [cuped_estimate(m, c, ratio=True) for m in arms]
        plain_diffs.append(plain[1].mean - plain[0].mean)
        comp = compare(adj[0], adj[1], welch=False)
        adj_diffs.append(comp.diff)
        reported.append(adj[0].var_mean + adj[1].var_mean)
        covered += comp.diff_low <= lift <= comp.diff_high
        reductions.append(c.variance_reduction)
    se = math.sqrt(0.95 * 0.05 / sims)
    assert abs(covered / sims - 0.95) < 3 * se, covered / sims
    assert np.mean(adj_diffs) == pytest.approx(lift, abs=4 * np.std(adj_diffs) / math.sqrt(sims))  # unbiased
    # the reported variance matches the estimator's spread across simulations (within 10%) and
    # the spread shrinks by about the reported reduction
    assert np.mean(reported) == pytest.approx(np.var(adj_diffs), rel=0.1)
    spread_reduction = 1 - np.var(adj_diffs) / np.var(plain_diffs)
    assert spread_reduction == pytest.approx(np.mean(reductions), abs=0.05)
    assert np.mean(reductions) > 0.1


def test_ratio_cuped_with_unit_denominators_is_mean_cuped():
    rng = np.random.default_rng(12)
    x = rng.normal(0, 1, 2000)
    y = 0.5 * x + rng.normal(0, 1, 2000)
    ones = np.ones(1000)
    as_mean = [mean_moments(y[:1000], x[:1000]), mean_moments(y[1000:], x[1000:])]
    as_ratio = [ratio_moments(y[:1000], ones, x[:1000], ones), ratio_moments(y[1000:], ones, x[1000:], ones)]
    cm, cr = cuped_theta(as_mean), cuped_theta(as_ratio, ratio=True)
    assert cr.theta == pytest.approx(cm.theta, rel=1e-9)
    for a, b in zip(as_mean, as_ratio):
        em, er = cuped_estimate(a, cm), cuped_estimate(b, cr, ratio=True)
        assert (er.mean, er.var_mean) == pytest.approx((em.mean, em.var_mean), rel=1e-9)


def test_sequential_confidence_sequence_keeps_the_false_positive_rate_under_daily_peeking():
    rng = np.random.default_rng(6)
    sims, days, per_day, alpha = 2000, 28, 100, 0.05
    a = rng.normal(0, 1, (sims, days, per_day)).sum(axis=2).cumsum(axis=1)
    b = rng.normal(0, 1, (sims, days, per_day)).sum(axis=2).cumsum(axis=1)
    n = per_day * np.arange(1, days + 1)  # per arm
    diff = (b - a) / n
    var = 2.0 / n  # known unit variance: isolates the boundary from variance estimation
    fixed = np.abs(diff) / np.sqrt(var) > stats.norm.ppf(1 - alpha / 2)
    half = np.array([sequential_halfwidth(v, 2 * k, alpha, n_star=2 * per_day * days) for v, k in zip(var, n)])
    seq = np.abs(diff) > half
    se = math.sqrt(alpha * (1 - alpha) / sims)
    assert seq.any(axis=1).mean() <= alpha + 3 * se  # always valid
    assert fixed.any(axis=1).mean() > alpha + 10 * se  # peeking at a fixed-horizon test inflates it
    assert fixed[:, -1].mean() == pytest.approx(alpha, abs=3 * se)  # one look is fine


def test_srm_flags_a_505_495_split_at_a_million_and_not_a_fair_one():
    allocation = {"control": 0.5, "treatment": 0.5}
    skewed = srm_p_value({"control": 505_000, "treatment": 495_000}, allocation)
    assert skewed < 0.001
    assert skewed == pytest.approx(stats.chi2.sf(100.0, 1), rel=1e-6)  # (5,000^2 / 500,000) x 2 = 100
    assert srm_p_value({"control": 500_400, "treatment": 499_600}, allocation) > 0.001
    assert srm_p_value({"a": 340, "b": 330, "c": 330}, {"a": 0.34, "b": 0.33, "c": 0.33}) == pytest.approx(1.0)


def test_non_inferiority_matches_statsmodels_one_sided_welch():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0.60, 0.3, 800), rng.normal(0.595, 0.3, 800)
    comp = welch(a, b)
    ni = non_inferiority(comp, 0.05, higher_is_better=True)
    _, p_ref, _ = sm_ttest_ind(b, a, alternative="larger", usevar="unequal", value=-0.05)
    assert ni.p_value == pytest.approx(p_ref, rel=1e-6)
    assert ni.passed and not ni.harmful
    worse = non_inferiority(welch(a, a - 0.2), 0.05, higher_is_better=True)
    assert worse.passed is False and worse.harmful is True
    # lower is better (latency): +30 ms against a 500 ms margin passes
    lat = non_inferiority(welch(rng.normal(800, 50, 500), rng.normal(830, 50, 500)), 500, higher_is_better=False)
    assert lat.passed


def test_heterogeneity_matches_statsmodels_cochran_q():
    est, ses = [0.10, 0.02, 0.05, 0.20], [0.03, 0.04, 0.02, 0.05]
    ours = heterogeneity(est, ses)
    ref = combine_effects(np.array(est), np.array(ses) ** 2)
    assert ours.q == pytest.approx(ref.q, rel=1e-9)
    assert ours.i_squared == pytest.approx(ref.i2, rel=1e-9)
    assert ours.p_value == pytest.approx(stats.chi2.sf(ref.q, 3), rel=1e-9)
    assert heterogeneity([0.1], [0.02]) is None


def test_sample_size_matches_statsmodels_normal_power():
    rng = np.random.default_rng(8)
    a, b = rng.normal(10, 2, 50_000), rng.normal(10, 2, 50_000)
    ca, cb = arm_estimate(mean_moments(a), False), arm_estimate(mean_moments(b), False)
    p = power_analysis(ca, cb, alpha=0.05, power=0.8, target_rel=0.02)
    sigma = math.sqrt((ca.unit_var + cb.unit_var) / 2)
    ref = NormalIndPower().solve_power(effect_size=0.02 * ca.mean / sigma, alpha=0.05, power=0.8, ratio=1.0)
    assert p.required_n_per_arm == math.ceil(ref) or abs(p.required_n_per_arm - ref) < 1
    # the achieved MDE is the effect that has 80% power at the current n
    d = p.achieved_mde_abs / sigma
    assert NormalIndPower().power(effect_size=d, nobs1=50_000, alpha=0.05) == pytest.approx(0.8, abs=1e-3)


def test_bayesian_chance_to_win_and_expected_loss_match_integration():
    rng = np.random.default_rng(9)
    comp = welch(rng.normal(1.0, 1, 400), rng.normal(1.08, 1, 400))
    mu, se = comp.diff, comp.se
    assert comp.chance_to_win == pytest.approx(stats.norm.sf(0, mu, se), rel=1e-9)
    loss, _ = integrate.quad(lambda d: -d * stats.norm.pdf(d, mu, se), -np.inf, 0)
    assert comp.expected_loss == pytest.approx(loss, rel=1e-6)
    lower = welch(rng.normal(1.0, 1, 400), rng.normal(1.08, 1, 400), higher_is_better=False)
    assert lower.chance_to_win < 0.5


def test_degenerate_arms_give_a_reason_not_an_exception():
    one = compare(arm_estimate(mean_moments([1.0, 2.0]), False), arm_estimate(mean_moments([3.0]), False))
    assert one.reason == "treatment arm has 1 user(s); at least 2 are needed" and one.diff is None
    flat = welch(np.ones(10), np.ones(12))
    assert flat.reason.startswith("zero variance") and flat.diff == 0
    assert non_inferiority(one, 0.1, higher_is_better=True).passed is None
    assert power_analysis(arm_estimate(mean_moments([1.0]), False), arm_estimate(mean_moments([1.0, 2.0]), False),
                          alpha=0.05, power=0.8, target_rel=0.1).reason == "an arm has fewer than 2 users"


# --- relative interval: the same reference distribution as the absolute one (Fieller) ---

def test_relative_ci_excludes_zero_exactly_when_welch_rejects_at_four_users_per_arm():
    # the audit: with 4 users per arm a normal-quantile delta-method interval excluded 0 at p = 0.064
    rng = np.random.default_rng(20)
    disagreements_old, checked = 0, 0
    for _ in range(3000):
        a, b = rng.normal(10, 2, 4), rng.normal(11, 2, 4)
        c = welch(a, b)
        if c.rel_low is None:
            continue
        checked += 1
        ref = stats.ttest_ind(b, a, equal_var=False)
        assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert (c.rel_low > 0 or c.rel_high < 0) == (ref.pvalue < 0.05), (a, b)
        # the delta method with a normal quantile, as before: disagrees with the test in places
        rel_se = math.sqrt(b.var(ddof=1) / 4 / a.mean() ** 2 + b.mean() ** 2 * a.var(ddof=1) / 4 / a.mean() ** 4)
        old_excludes = abs(c.rel) > stats.norm.ppf(0.975) * rel_se
        disagreements_old += old_excludes != (ref.pvalue < 0.05)
    assert checked > 2900 and disagreements_old > 10  # the old interval was wrong on these data


def test_relative_ci_endpoints_match_a_numerical_inversion_with_scipy_welch_quantile():
    rng = np.random.default_rng(21)
    a, b = rng.normal(10, 3, 6), rng.normal(12, 3, 9)
    c = welch(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False)
    q = stats.t.ppf(0.975, ref.df)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)

    def boundary(r):  # zero where (mean_b - r mean_a)^2 = q^2 (v_b + r^2 v_a)
        return (b.mean() - r * a.mean()) ** 2 - q * q * (vb + r * r * va)

    ratio = b.mean() / a.mean()
    low = optimize.brentq(boundary, 1e-6, ratio)
    high = optimize.brentq(boundary, ratio, 100)
    assert (c.rel_low, c.rel_high) == pytest.approx((low - 1, high - 1), rel=1e-9)


def test_relative_ci_covers_zero_95_percent_under_the_null_at_five_users_per_arm():
    rng = np.random.default_rng(22)
    sims, covered = 4000, 0
    for _ in range(sims):
        c = welch(rng.normal(5, 1, 5), rng.normal(5, 1, 5))
        covered += c.rel_low is not None and c.rel_low <= 0 <= c.rel_high
    se = math.sqrt(0.95 * 0.05 / sims)
    # Welch's test is itself slightly conservative at n = 5 (about 0.955): allow 3 SE around 0.95 plus that
    assert 0.95 - 3 * se < covered / sims < 0.962 + 3 * se, covered / sims


def test_relative_ci_is_unbounded_when_the_control_mean_is_indistinguishable_from_zero():
    c = welch(np.array([-1.0, 1.0, 0.5, -0.4]), np.array([2.0, 3.0, 2.5, 2.2]))
    assert c.rel is not None and c.rel_low is None and c.rel_high is None and c.diff_low is not None


# --- moments: large offsets, additivity, non-finite values ---

def test_unit_variance_keeps_its_precision_at_an_offset_of_1e8():
    rng = np.random.default_rng(23)
    y = 1e8 + rng.normal(0, 1, 10_000)
    est = arm_estimate(mean_moments(y), False)
    assert est.unit_var == pytest.approx(np.var(y, ddof=1), rel=1e-9)
    assert est.mean == pytest.approx(y.mean(), rel=1e-15)
    # the raw-sum formula this replaces: off by far more than the variance itself
    raw = (float((y * y).sum()) - float(y.sum()) ** 2 / len(y)) / (len(y) - 1)
    assert abs(raw - np.var(y, ddof=1)) > 0.1
    # a ratio metric whose numerators sit near 1e8, against the delta method computed in numpy on the
    # linearized values (L = (y - r d) / mean d). Not covered: a ratio whose own relative spread is
    # under about 1e-8 (y = 1e8 d + noise), where the delta method's three terms cancel in any order
    d = rng.integers(1, 5, 10_000).astype(float)
    num = 1e8 + rng.normal(0, 1, 10_000)
    ratio = arm_estimate(ratio_moments(num, d), True)
    r = num.sum() / d.sum()
    linear = (num - r * d) / d.mean()
    assert ratio.mean == pytest.approx(r, rel=1e-12)
    assert ratio.unit_var == pytest.approx(np.var(linear, ddof=1), rel=1e-6)


def test_cuped_theta_at_a_large_offset_matches_numpy():
    rng = np.random.default_rng(24)
    x = 5e7 + rng.normal(0, 2, 4000)
    y = 1e8 + 0.7 * (x - 5e7) + rng.normal(0, 1, 4000)
    arms = [mean_moments(y[:2000], x[:2000]), mean_moments(y[2000:] + 0.1, x[2000:])]
    cup = cuped_theta(arms)
    centred = [(x[:2000], y[:2000]), (x[2000:], y[2000:] + 0.1)]
    sxy = sum(np.cov(xx, yy, ddof=1)[0, 1] * 1999 for xx, yy in centred)
    sxx = sum(np.var(xx, ddof=1) * 1999 for xx, _ in centred)
    assert cup.theta == pytest.approx(sxy / sxx, rel=1e-9)


def test_moments_stay_additive_across_partitions_with_different_references():
    rng = np.random.default_rng(25)
    y, x = 3e8 + rng.normal(0, 2, 3000), 1e6 + rng.normal(0, 1, 3000)
    d = rng.integers(1, 4, 3000).astype(float)
    parts = [ratio_moments(y[i:i + 1000], d[i:i + 1000], x[i:i + 1000], np.ones(1000)) for i in (0, 1000, 2000)]
    assert len({p.ref_y for p in parts}) == 3  # each centred on its own mean
    summed = parts[0] + parts[1] + parts[2]
    whole = ratio_moments(y, d, x, np.ones(3000))
    assert summed.n == 3000
    for ratio in (False, True):
        a, b = arm_estimate(summed, ratio), arm_estimate(whole, ratio)
        assert (a.mean, a.unit_var) == pytest.approx((b.mean, b.unit_var), rel=1e-9)
    empty = Moments(0, 0, 0)
    assert (empty + whole) is whole and (whole + empty) is whole


def test_non_finite_values_never_reach_a_moment_and_are_counted():
    y = np.array([1.0, 2.0, np.nan, 4.0, np.inf, 3.0])
    m = mean_moments(y)
    assert m.n == 4 and m.excluded == 2
    assert arm_estimate(m, False).unit_var == pytest.approx(np.var([1, 2, 4, 3], ddof=1), rel=1e-12)
    d = np.array([1.0, 1.0, 2.0, np.nan, 1.0, 1.0])
    r = ratio_moments(np.array([1.0, 0, 1, 1, 0, 1]), d)
    assert r.n == 5 and r.excluded == 1 and arm_estimate(r, True).mean == pytest.approx(3 / 6)
    assert (m + mean_moments(np.array([np.nan, 1.0]))).excluded == 3


# --- heterogeneity: one Cochran's Q per segment dimension ---

def _simulated_segments(rng, n, device_effect):
    """Users with a segment (3 values) and a device (2 values) that partition the same users
    (and are correlated); the treatment effect differs by device only when device_effect."""
    seg = rng.integers(0, 3, 2 * n)
    device = (rng.random(2 * n) < 0.3 + 0.2 * seg).astype(int)
    treated = np.arange(2 * n) >= n
    y = rng.normal(0, 1, 2 * n) + treated * (0.05 + device_effect * device)
    rows = []
    for dim, values in (("segment", seg), ("device", device)):
        for v in np.unique(values):
            c = mean_moments(y[(values == v) & ~treated])
            t = mean_moments(y[(values == v) & treated])
            comp = compare(arm_estimate(c, False), arm_estimate(t, False))
            rows.append({"segment_dimension": dim, "segment_value": str(v), "diff": comp.diff, "_se": comp.se})
    return rows


def test_heterogeneity_per_dimension_holds_its_size_and_beats_the_pooled_q():
    rng = np.random.default_rng(26)
    sims, n = 1500, 600
    size = {"segment": 0, "device": 0}
    for _ in range(sims):
        rows = _simulated_segments(rng, n, 0.0)
        segment_heterogeneity(rows)
        for dim in size:
            size[dim] += next(r for r in rows if r["segment_dimension"] == dim)["heterogeneity_p"] < 0.05
    se = math.sqrt(0.05 * 0.95 / sims)
    for dim, hits in size.items():
        assert abs(hits / sims - 0.05) < 3 * se, (dim, hits / sims)
    power_dim = power_pooled = 0
    for _ in range(sims // 3):
        rows = _simulated_segments(rng, n, 0.15)
        pooled = heterogeneity([r["diff"] for r in rows], [r["_se"] for r in rows])
        segment_heterogeneity(rows)
        power_pooled += pooled.p_value < 0.05
        power_dim += next(r for r in rows if r["segment_dimension"] == "device")["heterogeneity_p"] < 0.05
    # tested alone the device dimension finds the effect clearly more often than one Q over both
    assert power_dim > power_pooled + 0.1 * (sims // 3), (power_dim, power_pooled)


def test_the_overall_row_gets_the_smallest_holm_adjusted_dimension_p():
    rows = [{"segment_dimension": "a", "diff": 0.1, "_se": 0.02}, {"segment_dimension": "a", "diff": 0.0, "_se": 0.02},
            {"segment_dimension": "b", "diff": 0.05, "_se": 0.02}, {"segment_dimension": "b", "diff": 0.04, "_se": 0.02}]
    p_a = heterogeneity([0.1, 0.0], [0.02, 0.02]).p_value
    p_b = heterogeneity([0.05, 0.04], [0.02, 0.02]).p_value
    overall = segment_heterogeneity(rows)
    assert [r["heterogeneity_p"] for r in rows] == pytest.approx([p_a, p_a, p_b, p_b], rel=1e-12)
    assert overall == pytest.approx(min(multipletests([p_a, p_b], method="holm")[1]), rel=1e-12)
    assert all("_se" not in r for r in rows)


# --- found by a fresh pair of eyes (issue 13 review) ---

def test_moments_add_keeps_precision_when_one_side_holds_only_excluded_users():
    rng = np.random.default_rng(27)
    m = mean_moments(1e8 + rng.normal(0, 1, 1000))
    z = mean_moments(np.array([np.nan]))
    for total in (m + z, z + m):
        assert total.n == 1000 and total.excluded == 1
        assert arm_estimate(total, False).unit_var == pytest.approx(arm_estimate(m, False).unit_var, rel=1e-12)


def test_a_non_finite_pre_period_value_is_imputed_not_a_reason_to_drop_the_user():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    x = np.array([1.5, np.inf, 2.5, np.nan, 4.0])
    m = mean_moments(y, x)
    assert m.n == 5 and m.excluded == 0 and m.imputed == 2
    assert arm_estimate(m, False).mean == pytest.approx(3.0)  # the unadjusted estimate keeps every user
    # the covariate of the imputed users is the mean of the others: cov(x, y) as numpy with that imputation
    filled = np.where(np.isfinite(x), x, x[np.isfinite(x)].mean())
    cup = cuped_theta([m, mean_moments(y + 1, filled)])
    ref = (np.cov(filled, y)[0, 1] * 4 + np.cov(filled, y + 1)[0, 1] * 4) / (np.var(filled, ddof=1) * 8)
    assert cup.theta == pytest.approx(ref, rel=1e-12)


def test_holm_keeps_untestable_hypotheses_in_the_family():
    assert holm([math.nan, 0.01, 0.04]) == pytest.approx(holm([1.0, 0.01, 0.04]))
    assert holm([0.04, 0.01, None]) == pytest.approx(list(multipletests([0.04, 0.01, 1.0], method="holm")[1]))


def test_extreme_magnitudes_give_a_reason_or_a_number_never_an_exception():
    rng = np.random.default_rng(28)
    a, b = rng.normal(0, 1, 50), rng.normal(0.5, 1, 50)
    # Welch is scale-free: at 1e-150 (squared variances underflow) the test is scipy's on the unscaled data
    tiny, ref = welch(a * 1e-150, b * 1e-150), stats.ttest_ind(b, a, equal_var=False)
    assert tiny.reason is None and tiny.df == pytest.approx(ref.df, rel=1e-9)
    assert tiny.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # at 1e200 the variances overflow: a reason, not a p-value of 1 with a NaN interval
    huge = welch(a * 1e200, b * 1e200)
    assert huge.reason is not None and "overflow" in huge.reason and huge.p_value is None
    # values near 1e308: their sums overflow to infinity (it was called 'no denominator', a ratio's problem)
    top = welch(np.abs(a) * 1e307 + 1e307, np.abs(b) * 1e307 + 1e307)
    assert top.reason is not None and "overflow double precision" in top.reason and "denominator" not in top.reason


def test_an_untestable_primary_metric_stays_in_the_holm_family():
    import datetime as dt
    from collections import defaultdict

    from pipeline.experiments.analysis import analyze_experiment
    from pipeline.experiments.registry import ExperimentSpec, MetricSpec

    rng = np.random.default_rng(21)
    yc = rng.normal(10, 2, 200)
    yt = yc.mean() + rng.normal(0, 2, 200) + 0.40
    moments = defaultdict(lambda: defaultdict(dict))
    moments[("e", "m1")][(None, None)] = {"control": mean_moments(yc), "treat": mean_moments(yt)}
    # nobody did the second primary's event: zero variance, no test possible
    moments[("e", "m2")][(None, None)] = {"control": mean_moments(np.zeros(200)), "treat": mean_moments(np.zeros(200))}
    spec = ExperimentSpec("e", dt.date(2026, 1, 1), dt.date(2026, 1, 31), "control", {"control": 0.5, "treat": 0.5},
                          ("m1", "m2"), power=None, segments=())
    metrics = {"m1": MetricSpec("m1", "sum", True, "x"), "m2": MetricSpec("m2", "binary", True, "y")}
    rows, summary = analyze_experiment(spec, metrics, moments, {"control": 200, "treat": 200},
                                       dt.datetime.now(dt.timezone.utc))
    m1 = next(r for r in rows if r["metric"] == "m1" and r["analysis"] == "overall")
    m2 = next(r for r in rows if r["metric"] == "m2" and r["analysis"] == "overall")
    assert 0.025 < m1["p_value"] < 0.05 and m2["p_value"] is None and m2["reason"].startswith("zero variance")
    assert m1["p_value_holm"] == pytest.approx(multipletests([m1["p_value"], 1.0], method="holm")[1][0], rel=1e-12)
    assert not m1["significant"] and summary["decision"] == "inconclusive"  # was "ship" on m1 alone
