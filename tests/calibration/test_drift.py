"""The drift rule: its intervals against statsmodels, its exact tests against scipy (exact
Wilcoxon and Mann-Whitney where there are no ties, scipy's complete permutation enumeration
where there are), the minimum number of items, and its error rates by simulation (a stable judge
is rarely flagged; a one-point shift almost always is)."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from pipeline.calibration.drift import (
    EXACT_MAX,
    MIN_DRIFT_ITEMS,
    Shift,
    _row,
    drifted,
    independent_shift,
    paired_shift,
    rank_sum_test,
    signed_rank_test,
    store_drift,
)
from pipeline.warehouse import connect

EVERY = stats.PermutationMethod(n_resamples=np.inf)  # scipy enumerates every sign flip / split: exact


def test_paired_shift_interval_matches_statsmodels():
    rng = np.random.default_rng(1)
    anchor = rng.integers(1, 6, 40).astype(float)
    month = np.clip(anchor + rng.integers(-1, 2, 40), 1, 5)
    s = paired_shift(anchor, month)
    low, high = DescrStatsW(month - anchor).tconfint_mean(alpha=0.05)
    assert (s.low, s.high) == pytest.approx((low, high), rel=1e-9)
    same = paired_shift(anchor, anchor)
    assert (same.shift, same.p_value, drifted(same)) == (0.0, 1.0, False)


@pytest.mark.parametrize("seed", range(6))
def test_signed_rank_p_with_ties_and_zeros_is_scipys_complete_sign_flip_enumeration(seed):
    # judge scores differ by whole points: many zero and tied differences, where scipy's
    # method="exact" is not exact; zero_method="wilcox" drops the zeros, as signed_rank_test does
    rng = np.random.default_rng(seed)
    d = rng.integers(-2, 3, 13).astype(float)
    ref = stats.wilcoxon(d, zero_method="wilcox", method=EVERY).pvalue
    assert signed_rank_test(d)[0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("n", [1, 3, 6, 12, 25, EXACT_MAX])
def test_signed_rank_p_without_ties_is_scipys_exact_wilcoxon(n):
    rng = np.random.default_rng(n)
    d = rng.permutation(np.arange(1, n + 1)) * rng.choice([-1.0, 1.0], n) / 4
    p, test = signed_rank_test(d)
    assert p == pytest.approx(stats.wilcoxon(d, method="exact").pvalue, abs=1e-12) and test.endswith("(exact)")


def test_signed_rank_p_above_the_exact_limit_is_scipys_normal_approximation():
    d = np.random.default_rng(7).integers(-3, 4, 3 * EXACT_MAX).astype(float)
    p, test = signed_rank_test(d)
    ref = stats.wilcoxon(d, zero_method="wilcox", method="asymptotic").pvalue
    assert p == pytest.approx(ref, rel=1e-12) and test.endswith("(normal approximation)")


@pytest.mark.parametrize("seed", range(6))
def test_rank_sum_p_with_ties_is_scipys_complete_permutation_enumeration(seed):
    rng = np.random.default_rng(seed)
    anchor, month = rng.integers(-2, 3, 7) / 2, rng.integers(-1, 4, 8) / 2  # residuals in half points
    ref = stats.mannwhitneyu(month, anchor, method=EVERY).pvalue
    assert rank_sum_test(anchor, month)[0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("sizes", [(3, 4), (8, 8), (10, 15), (25, 25)])
def test_rank_sum_p_without_ties_is_scipys_exact_mann_whitney(sizes):
    rng = np.random.default_rng(sum(sizes))
    values = rng.permutation(200)[:sum(sizes)].astype(float)
    anchor, month = values[:sizes[0]], values[sizes[0]:]
    p, test = rank_sum_test(anchor, month)
    assert p == pytest.approx(stats.mannwhitneyu(month, anchor, method="exact").pvalue, abs=1e-12)
    assert test == "mann-whitney (exact)"


def test_rank_sum_p_above_the_exact_limit_is_scipys_normal_approximation():
    rng = np.random.default_rng(8)
    anchor, month = rng.integers(-2, 3, 40) / 2, rng.integers(-2, 3, 40) / 2
    p, test = rank_sum_test(anchor, month)
    assert p == pytest.approx(stats.mannwhitneyu(month, anchor, method="asymptotic").pvalue, rel=1e-12)
    assert test == "mann-whitney (normal approximation)"


def test_audit_cases_under_the_minimum_get_no_test_and_no_flag():
    # issue 13 item 8: one item flagged drift (interval [1, 1], p NaN); five items gave p 0.0;
    # two residuals each flagged drift with a Mann-Whitney p of 0.19
    for s in (paired_shift([3], [4]), paired_shift([3] * 5, [4] * 5), independent_shift([0, 0], [1, 1]),
              paired_shift([3] * (MIN_DRIFT_ITEMS - 1), [4] * (MIN_DRIFT_ITEMS - 1))):
        assert s.shift == 1.0 and s.test == "none" and s.reason.startswith(f"fewer than {MIN_DRIFT_ITEMS}")
        assert math.isnan(s.p_value) and math.isnan(s.low) and not drifted(s)
    # the tests themselves, had they run: scipy's exact values
    assert signed_rank_test(np.array([1.0] * 5))[0] == pytest.approx(
        stats.wilcoxon([1.0] * 5, method="exact").pvalue, abs=1e-12)  # 0.0625
    assert rank_sum_test([0.0, 0.0], [1.0, 1.0])[0] == pytest.approx(
        stats.mannwhitneyu([1.0, 1.0], [0.0, 0.0], method=EVERY).pvalue, abs=1e-12)  # 1/3


def test_all_equal_differences_are_tested_exactly():
    n = MIN_DRIFT_ITEMS + 2
    up = paired_shift([3] * n, [4] * n)  # every item one point up: exact p 2 / 2^n, not 0
    assert up.p_value == pytest.approx(2 / 2 ** n, rel=1e-12) and up.test == "wilcoxon signed-rank (exact)"
    assert up.p_value == pytest.approx(stats.wilcoxon([1.0] * n, method="exact").pvalue, rel=1e-12)
    assert drifted(up)
    apart = independent_shift([0.0] * MIN_DRIFT_ITEMS, [1.0] * MIN_DRIFT_ITEMS)  # the one most extreme split
    assert apart.p_value == pytest.approx(2 / math.comb(2 * MIN_DRIFT_ITEMS, MIN_DRIFT_ITEMS), rel=1e-12)
    assert drifted(apart)
    flat = paired_shift([3] * n, [3] * n)
    assert (flat.p_value, drifted(flat)) == (1.0, False)


def test_an_interval_excluding_zero_is_not_enough_without_the_test():
    # both rows: |shift| 0.7 and a 95% interval above zero, but the exact test does not reject
    anchor = np.array([5, 3, 5, 3, 4, 5, 1, 3, 3, 2], dtype=float)
    month = np.array([5, 3, 5, 5, 5, 5, 2, 5, 4, 2], dtype=float)
    s = paired_shift(anchor, month)
    assert s.low > 0 and s.shift == pytest.approx(0.7)
    assert s.p_value == pytest.approx(stats.wilcoxon(month - anchor, zero_method="wilcox", method=EVERY).pvalue,
                                      abs=1e-12)  # 0.0625: five non-zero differences
    assert not drifted(s)
    anchor = np.array([-0.5, -0.5, 1.0, -1.0, 0.0, 0.0, -1.0, 0.0, 0.5, 0.0])
    month = np.array([0.0, 0.5, 1.5, -0.5, 0.0, 1.5, 0.0, 1.0, 0.0, 1.5])
    s = independent_shift(anchor, month)
    assert s.low > 0 and s.shift == pytest.approx(0.7)
    assert s.p_value == pytest.approx(stats.mannwhitneyu(month, anchor, method=EVERY).pvalue, abs=1e-12)  # 0.0542
    assert not drifted(s)
    # and an undefined p never flags
    assert not drifted(Shift(40, 40, 0.0, 1.0, 1.0, 0.5, 1.5, math.nan, "wilcoxon signed-rank (exact)"))


def test_independent_shift_interval_and_test_match_references():
    rng = np.random.default_rng(2)
    anchor, month = rng.normal(0.1, 0.8, 20), rng.normal(-0.6, 0.9, 18)
    s = independent_shift(anchor, month)
    low, high = CompareMeans(DescrStatsW(month), DescrStatsW(anchor)).tconfint_diff(usevar="unequal")
    assert (s.low, s.high) == pytest.approx((low, high), rel=1e-9)
    assert s.p_value == pytest.approx(stats.mannwhitneyu(month, anchor, method="exact").pvalue, abs=1e-12)
    assert s.test == "mann-whitney (exact)"


def test_a_stable_judge_is_rarely_flagged_and_a_one_point_shift_almost_always():
    # residuals of 40 items a month, like the demo's judge against its annotators
    rng = np.random.default_rng(3)
    sims = 1000

    def residuals(shift, n=40):
        return np.round(rng.normal(shift, 0.7, n) * 2) / 2  # medians of two annotators: half points

    false_flags = sum(drifted(independent_shift(residuals(0.0), residuals(0.0))) for _ in range(sims)) / sims
    caught = sum(drifted(independent_shift(residuals(0.0), residuals(-1.0))) for _ in range(sims)) / sims
    assert false_flags <= 0.01, false_flags  # |shift| >= 0.5, a CI excluding zero and p < 0.05
    assert caught >= 0.95, caught


def test_rows_without_a_test_are_stored_with_their_reason_in_an_existing_warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:  # judge_drift as warehouses created before the reason column have it
        con.execute("""create table judge_drift (month date not null, judge_version varchar not null,
            dimension varchar not null, method varchar not null, anchor_month date not null, n_anchor integer not null,
            n_month integer not null, anchor_mean double, month_mean double, shift double, shift_ci_low double,
            shift_ci_high double, test varchar not null, p_value double, threshold double not null,
            drifted boolean not null, computed_at timestamptz not null)""")
    month = dt.date(2026, 10, 1)
    rows = [_row(month, "jv", "clarity", "rescored", dt.date(2026, 9, 1), paired_shift([3] * 4, [4] * 4), 0.5),
            _row(month, "jv", "correctness", "rescored", dt.date(2026, 9, 1), paired_shift([3] * 12, [1] * 12), 0.5)]
    with connect(path) as con:
        store_drift(con, month, rows, ("rescored",))
        stored = con.execute("select dimension, test, p_value, reason, drifted from judge_drift order by 1").fetchall()
    assert stored == [("clarity", "none", None, f"fewer than {MIN_DRIFT_ITEMS} paired items (4)", False),
                      ("correctness", "wilcoxon signed-rank (exact)", pytest.approx(2 / 2 ** 12), None, True)]


def test_scores_that_are_not_numbers_are_left_out_not_a_crash():
    import numpy as np

    from pipeline.calibration.drift import independent_shift, paired_shift

    anchor = np.array([3.0] * 12 + [np.nan])
    month = np.array([4.0] * 12 + [4.0])
    with_nan, clean = paired_shift(anchor, month), paired_shift(anchor[:12], month[:12])
    assert (with_nan.n_anchor, with_nan.p_value) == (clean.n_anchor, clean.p_value)
    assert independent_shift(np.append(np.zeros(12), np.nan), np.ones(12)).p_value == \
        independent_shift(np.zeros(12), np.ones(12)).p_value
