"""Agreement statistics against independent references: scikit-learn's cohen_kappa_score, the
`krippendorff` package, statsmodels' fleiss_kappa, scipy's spearmanr, and bootstrap coverage on
simulated data. Closed-form statistics are compared to 1e-12 (floating-point rounding only)."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from pipeline.calibration.agreement import (
    bootstrap,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_ordinal,
    mean_pairwise_kappa,
    pairwise_kappas,
    rating_scale,
    spearman,
    spearman_rows,
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


# the audit's case (issue 13): two annotators who used only 1, 2 and 5; a one-point slip
# between 1 and 2 four times in nine items, and full agreement on the 5s
AUDIT_X = [1, 2, 2, 5, 5, 1, 1, 2, 2]
AUDIT_Y = [1, 2, 2, 5, 5, 2, 2, 1, 1]


def test_annotator_kappa_is_on_the_rating_scale_not_the_points_used():
    scale = [1, 2, 3, 4, 5]
    reference = cohen_kappa_score(AUDIT_X, AUDIT_Y, weights="quadratic", labels=scale)
    used_only = cohen_kappa_score(AUDIT_X, AUDIT_Y, weights="quadratic")  # 2-vs-5 one step: what the old code did
    assert round(reference, 2) == 0.90 and round(used_only, 2) == 0.59
    ann = {"x": {f"i{k}": v for k, v in enumerate(AUDIT_X)}, "y": {f"i{k}": v for k, v in enumerate(AUDIT_Y)}}
    for labels in (scale, None):  # the rubric's scale given, or the integer range of the scores seen
        mean, pairs = mean_pairwise_kappa(ann, "quadratic", labels=labels)
        assert pairs == 1 and mean == pytest.approx(reference, abs=1e-12)
    assert rating_scale([1, 2, 5]) == scale and rating_scale(["tie", "a", "b"]) == ["a", "b", "tie"]


def test_each_annotator_pair_kappa_over_a_b_tie_matches_sklearn():
    rng = np.random.default_rng(8)
    labels = ["a", "b", "tie"]
    truth = rng.choice(labels, 50, p=[0.45, 0.35, 0.2])
    ann = {}
    for name, items in (("h1", range(0, 50)), ("h2", range(10, 50)), ("h3", range(0, 14)), ("h4", range(45, 50))):
        ann[name] = {f"i{j}": (truth[j] if rng.random() < 0.75 else rng.choice(labels)) for j in items}
    pairs = pairwise_kappas(ann, None, labels=labels)
    expected = {}
    for x, y in (("h1", "h2"), ("h1", "h3"), ("h1", "h4"), ("h2", "h4")):  # 5+ items in common
        common = sorted(set(ann[x]) & set(ann[y]))
        expected[(x, y)] = (len(common), cohen_kappa_score([ann[x][i] for i in common], [ann[y][i] for i in common],
                                                           labels=labels))
    assert {(p.annotator_a, p.annotator_b): p.n_items for p in pairs} == {k: n for k, (n, _) in expected.items()}
    for p in pairs:
        assert p.kappa == pytest.approx(expected[(p.annotator_a, p.annotator_b)][1], abs=1e-12)
    mean, n = mean_pairwise_kappa(ann, None, labels=labels)
    assert n == 4 and mean == pytest.approx(np.mean([k for _, k in expected.values()]), abs=1e-12)


@pytest.mark.parametrize("raters, seed", [(2, 0), (3, 1), (5, 2)])
def test_fleiss_kappa_matches_statsmodels(raters, seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 40)
    data = np.where(rng.random((40, raters)) < 0.7, truth[:, None], rng.integers(0, 3, (40, raters)))
    table, _ = aggregate_raters(data, n_cat=3)
    assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss(table, method="fleiss"), abs=1e-12)


def test_fleiss_kappa_needs_a_constant_number_of_raters_and_variation():
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[2, 1, 0], [1, 1, 0]]))
    assert math.isnan(fleiss_kappa(np.array([[3, 0, 0], [3, 0, 0]])))  # one category throughout: undefined


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
