"""Offline-online statistics against statsmodels (cluster-robust OLS, OLS prediction
intervals, power), scipy (correlations) and scikit-learn (ROC AUC)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.power import NormalIndPower

from pipeline.correlation import auc, clustered_difference, correlations, fit_line, sample_size_per_arm


def test_clustered_difference_matches_statsmodels_cluster_robust_ols():
    rng = np.random.default_rng(1)
    users = rng.integers(0, 120, 900)  # several judged responses per user
    treated = (users % 2).astype(float)  # randomized by user
    user_effect = rng.normal(0, 0.8, 120)[users]
    y = 3.0 + 0.3 * treated + user_effect + rng.normal(0, 1, 900)
    d = clustered_difference(y, treated, users)
    ref = sm.OLS(y, sm.add_constant(treated)).fit(cov_type="cluster", cov_kwds={"groups": users})
    assert d.diff == pytest.approx(ref.params[1], abs=1e-10)
    assert d.se == pytest.approx(ref.bse[1], rel=1e-9)
    assert d.clusters == 120 and d.n_treatment == int(treated.sum())
    # clustering matters here: the naive SE is too small
    assert d.se > sm.OLS(y, sm.add_constant(treated)).fit().bse[1] * 1.2


def test_clustered_difference_without_an_arm_is_undefined():
    d = clustered_difference(np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array([1, 2]))
    assert np.isnan(d.diff) and d.n_treatment == 0


def test_correlations_match_scipy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=30)
    y = 0.6 * x + rng.normal(scale=0.8, size=30)
    out = correlations(x, y, resamples=300)
    assert out["pearson"].estimate == pytest.approx(stats.pearsonr(x, y).statistic)
    assert out["spearman"].estimate == pytest.approx(stats.spearmanr(x, y).statistic)
    assert out["kendall"].estimate == pytest.approx(stats.kendalltau(x, y).statistic)
    assert all(ci.low < ci.estimate < ci.high for ci in out.values())


def test_row_wise_kendall_and_pearson_match_scipy_with_ties():
    from pipeline.correlation import kendall_rows, pearson_rows

    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, (20, 12)).astype(float)  # resamples repeat items: many ties
    b = a + rng.integers(-2, 3, (20, 12))
    for i in range(20):
        assert kendall_rows(a, b)[i] == pytest.approx(stats.kendalltau(a[i], b[i]).statistic, abs=1e-12)
        assert pearson_rows(a, b)[i] == pytest.approx(stats.pearsonr(a[i], b[i]).statistic, abs=1e-12)


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    score = rng.integers(1, 6, 500).astype(float)  # a 1-5 judge score: many ties
    outcome = rng.random(500) < 1 / (1 + np.exp(score - 2.5))  # low scores -> thumbs-down
    assert auc(-score, outcome) == pytest.approx(roc_auc_score(outcome, -score), abs=1e-12)
    assert auc(-score, outcome) > 0.6
    assert np.isnan(auc(score, np.zeros(5, dtype=bool)))


def test_prediction_interval_matches_statsmodels_ols():
    rng = np.random.default_rng(4)
    x = rng.normal(size=12)
    y = 0.05 * x + rng.normal(scale=0.02, size=12)
    fit = fit_line(x, y)
    ref = sm.OLS(y, sm.add_constant(x)).fit().get_prediction(np.array([[1.0, 0.7]])).summary_frame(alpha=0.05)
    pred = fit.predict(0.7)
    assert pred.estimate == pytest.approx(ref["mean"].iloc[0])
    assert (pred.low, pred.high) == pytest.approx((ref["obs_ci_lower"].iloc[0], ref["obs_ci_upper"].iloc[0]))


def test_sample_size_matches_statsmodels_normal_power():
    n = sample_size_per_arm(0.02, 0.3)
    ref = NormalIndPower().solve_power(effect_size=0.02 / 0.3, alpha=0.05, power=0.8, ratio=1.0)
    assert n == int(np.ceil(ref))
