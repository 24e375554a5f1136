"""Agreement statistics against independent references: scikit-learn's cohen_kappa_score, the
`krippendorff` package, scipy's spearmanr, and bootstrap coverage on simulated data."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from pipeline.agreement import (
    bootstrap, cohen_kappa, krippendorff_alpha_ordinal, mean_pairwise_kappa, spearman, spearman_rows,
)


def ordinal_pair(rng, n, noise):
    truth = rng.integers(1, 6, n)
    other = np.clip(np.rint(truth + rng.normal(0, noise, n)), 1, 5).astype(int)
    return truth, other


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("noise", [0.3, 1.0, 3.0])
def test_cohen_kappa_matches_sklearn(weights, noise):
    a, b = ordinal_pair(np.random.default_rng(int(noise * 10)), 300, noise)
    assert cohen_kappa(a, b, weights) == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)


def test_cohen_kappa_with_a_category_only_one_rater_used_matches_sklearn():
    a, b = [1, 2, 3, 3, 4], [1, 2, 3, 5, 4]
    for w in (None, "linear", "quadratic"):
        assert cohen_kappa(a, b, w) == pytest.approx(cohen_kappa_score(a, b, weights=w), abs=1e-12)
    assert math.isnan(cohen_kappa([3, 3, 3], [3, 3, 3]))  # no variation: undefined, not 1


@pytest.mark.parametrize("seed", range(4))
def test_krippendorff_ordinal_alpha_matches_the_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, 60)
    coders = np.array([np.clip(np.rint(truth + rng.normal(0, 0.4 + c * 0.3, 60)), 1, 5) for c in range(4)])
    coders[rng.random(coders.shape) < 0.35] = np.nan  # each coder rates only some units
    expected = krippendorff.alpha(reliability_data=coders, level_of_measurement="ordinal")
    assert krippendorff_alpha_ordinal(coders) == pytest.approx(expected, abs=1e-10)


def test_mean_pairwise_kappa_averages_pairs_with_enough_common_items():
    rng = np.random.default_rng(3)
    truth = rng.integers(1, 6, 40)
    ann = {name: {f"i{j}": int(np.clip(round(truth[j] + rng.normal(0, 0.5)), 1, 5)) for j in idx}
           for name, idx in (("a", range(0, 40)), ("b", range(0, 30)), ("c", range(37, 40)))}
    mean, pairs = mean_pairwise_kappa(ann, "quadratic")
    common = [f"i{j}" for j in range(30)]
    assert pairs == 1  # (a, b); c shares only 3 items with a and none with b
    assert mean == pytest.approx(cohen_kappa_score([ann["a"][i] for i in common], [ann["b"][i] for i in common],
                                                   weights="quadratic"))


def test_spearman_matches_scipy_and_is_undefined_for_constants():
    rng = np.random.default_rng(4)
    a, b = ordinal_pair(rng, 80, 1.0)
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert math.isnan(spearman([3, 3, 3, 3], [1, 2, 3, 4]))


def test_row_wise_spearman_matches_scipy_row_by_row():
    rng = np.random.default_rng(6)
    a = rng.integers(1, 6, (50, 30)).astype(float)  # ties, like judge scores
    b = a + rng.normal(0, 1.5, (50, 30))
    a[3] = 2.0  # a constant row: undefined
    rows = spearman_rows(a, b)
    assert math.isnan(rows[3])
    for i in (0, 7, 49):
        assert rows[i] == pytest.approx(stats.spearmanr(a[i], b[i]).statistic, abs=1e-12)


def test_item_bootstrap_ci_covers_the_true_agreement_about_95_percent_of_the_time():
    # each item agrees with probability 0.75: the percentile interval of the item-resampled mean
    rng = np.random.default_rng(5)
    sims, n, p = 400, 60, 0.75
    covered = 0
    for s in range(sims):
        agree = (rng.random(n) < p).astype(float)
        ci = bootstrap(n, lambda idx, x=agree: float(x[idx].mean()), resamples=400, seed=s)
        covered += ci.low <= p <= ci.high
    # percentile intervals undercover a little at n = 60; the tolerance is 3 simulation SEs
    # around 0.94 (binomial SE at 400 simulations is 0.011)
    assert abs(covered / sims - 0.94) < 0.035, covered / sims


def test_bootstrap_of_an_undefined_statistic_has_no_interval():
    ci = bootstrap(1, lambda idx: 1.0)
    assert ci.estimate == 1.0 and math.isnan(ci.low) and math.isnan(ci.high)
