"""The drift rule: its intervals against statsmodels, and its error rates by simulation (a
stable judge is rarely flagged; a one-point shift almost always is)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from pipeline.drift import drifted, independent_shift, paired_shift


def test_paired_shift_interval_and_test_match_references():
    rng = np.random.default_rng(1)
    anchor = rng.integers(1, 6, 40).astype(float)
    month = np.clip(anchor + rng.integers(-1, 2, 40), 1, 5)
    s = paired_shift(anchor, month)
    low, high = DescrStatsW(month - anchor).tconfint_mean(alpha=0.05)
    assert (s.low, s.high) == pytest.approx((low, high))
    assert s.p_value == pytest.approx(stats.wilcoxon(month - anchor, zero_method="zsplit").pvalue)
    same = paired_shift(anchor, anchor)
    assert (same.shift, same.p_value, drifted(same)) == (0.0, 1.0, False)


def test_independent_shift_interval_matches_statsmodels_welch():
    rng = np.random.default_rng(2)
    anchor, month = rng.normal(0.1, 0.8, 40), rng.normal(-0.6, 0.9, 38)
    s = independent_shift(anchor, month)
    low, high = CompareMeans(DescrStatsW(month), DescrStatsW(anchor)).tconfint_diff(usevar="unequal")
    assert (s.low, s.high) == pytest.approx((low, high))
    assert s.p_value == pytest.approx(stats.mannwhitneyu(month, anchor, alternative="two-sided").pvalue)


def test_a_stable_judge_is_rarely_flagged_and_a_one_point_shift_almost_always():
    # residuals of 40 items a month, like the demo's judge against its annotators
    rng = np.random.default_rng(3)
    sims = 1000

    def residuals(shift, n=40):
        return np.round(rng.normal(shift, 0.7, n) * 2) / 2  # medians of two annotators: half points

    false_flags = sum(drifted(independent_shift(residuals(0.0), residuals(0.0))) for _ in range(sims)) / sims
    caught = sum(drifted(independent_shift(residuals(0.0), residuals(-1.0))) for _ in range(sims)) / sims
    assert false_flags <= 0.01, false_flags  # |shift| >= 0.5 and a CI excluding zero
    assert caught >= 0.95, caught
