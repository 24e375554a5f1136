"""Offline-online statistics against statsmodels (cluster-robust OLS, OLS prediction
intervals, power), scipy (correlations) and scikit-learn (ROC AUC)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.power import NormalIndPower

from pipeline.calibration.correlation import (
    auc,
    clustered_difference,
    correlations,
    fit_line,
    sample_size_per_arm,
)


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
    assert np.isnan(d.diff) and d.n_treatment == 0 and d.reason == "no treatment responses"


def test_two_clusters_spanning_both_arms_match_statsmodels():
    # the smallest defined case: G = 2 (t with 1 degree of freedom), each user in both arms
    users = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    treated = np.array([0, 1, 0, 1, 0, 1, 0, 1], dtype=float)
    y = np.array([3, 4, 2, 5, 4, 4, 3, 5], dtype=float)
    d = clustered_difference(y, treated, users)
    ref = sm.OLS(y, sm.add_constant(treated)).fit(cov_type="cluster", cov_kwds={"groups": users}, use_t=True)
    assert d.reason is None and d.clusters == 2
    assert d.diff == pytest.approx(ref.params[1], abs=1e-12) and d.se == pytest.approx(ref.bse[1], rel=1e-9)
    assert (d.low, d.high) == pytest.approx(tuple(ref.conf_int(alpha=0.05)[1]), rel=1e-9)  # statsmodels: df G-1


def test_two_responses_give_a_difference_without_an_interval_instead_of_an_error():
    # issue 13 item 9: one response per arm, two users; the CR1 factor (N-1)/(N-K) is 1/0
    y, treated, users = np.array([2.0, 4.0]), np.array([0.0, 1.0]), np.array(["u1", "u2"])
    with pytest.raises(ZeroDivisionError):  # statsmodels cannot compute it either
        sm.OLS(y, sm.add_constant(treated)).fit(cov_type="cluster", cov_kwds={"groups": np.array([1, 2])})
    d = clustered_difference(y, treated, users)
    assert d.diff == pytest.approx(sm.OLS(y, sm.add_constant(treated)).fit().params[1], abs=1e-12)  # 2.0
    assert np.isnan(d.se) and np.isnan(d.low) and np.isnan(d.high) and "(N-1)/(N-K)" in d.reason
    one = clustered_difference(np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0]), np.array([7, 7, 7]))
    assert one.diff == pytest.approx(2.0) and np.isnan(one.high) and "G/(G-1)" in one.reason


def test_an_arm_from_a_single_cluster_has_no_interval():
    # each arm is one user: statsmodels' cluster-robust SE is zero up to rounding (each arm's
    # residuals sum to zero inside its one cluster), which would call any difference significant
    users, treated = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 1, 1], dtype=float)
    y = np.array([1, 2, 4, 3, 5, 5], dtype=float)
    ref = sm.OLS(y, sm.add_constant(treated)).fit(cov_type="cluster", cov_kwds={"groups": users})
    assert ref.bse[1] < 1e-12
    d = clustered_difference(y, treated, users)
    assert d.diff == pytest.approx(ref.params[1], abs=1e-12) and np.isnan(d.se) and "control" in d.reason
    # the control arm is one user, the treatment three: its variance would be left out
    d = clustered_difference(y, treated, np.array([0, 0, 0, 1, 2, 3]))
    assert np.isnan(d.low) and d.reason.startswith("the control responses all come from one cluster")


def test_offline_online_judge_deltas_of_a_tiny_experiment():
    import datetime as dt

    import duckdb

    from pipeline.calibration.offline_online import judge_deltas

    con = duckdb.connect()  # only the columns calibration/sample_scores reads
    con.execute("create table experiment_samples (experiment_id varchar, variant varchar, item_id varchar, "
                "user_id varchar)")
    con.execute("create table experiment_summary (experiment_id varchar, end_date date)")
    con.execute("create table experiment_results (experiment_id varchar, control varchar)")
    con.execute("create table judge_scores (item_id varchar, source varchar, judge_version varchar, dimension varchar, "
                "score integer)")
    con.execute("insert into experiment_summary values ('tiny', '2026-08-15'), ('small', '2026-08-20')")
    con.execute("insert into experiment_results values ('tiny', 'c'), ('small', 'c')")
    # tiny: one judged response per arm (the crash); small: three users per arm
    samples = [("tiny", "c", "i1", "u1"), ("tiny", "t", "i2", "u2")]
    samples += [("small", v, f"s{v}{k}", f"w{v}{k}") for v in ("c", "t") for k in range(3)]
    scores = {"i1": 3, "i2": 5, "sc0": 3, "sc1": 4, "sc2": 2, "st0": 4, "st1": 5, "st2": 4}
    con.executemany("insert into experiment_samples values (?, ?, ?, ?)", samples)
    con.executemany("insert into judge_scores values (?, 'experiment_sample', 'jv', 'clarity', ?)",
                    list(scores.items()))
    logged = []
    rows = {r["experiment_id"]: r for r in judge_deltas(con, dt.date(2026, 7, 1), dt.date(2026, 10, 1), logged.append)}
    tiny, small = rows["tiny"], rows["small"]
    assert (tiny["judge_delta"], tiny["judge_ci_low"], tiny["judge_ci_high"], tiny["clusters"]) == (2.0, None, None, 2)
    assert logged == ["offline_online: tiny/t jv clarity: no judge interval "
                      "(two responses: the CR1 factor (N-1)/(N-K) is undefined)"]
    users = np.array([0, 1, 2, 3, 4, 5])
    ref = sm.OLS(np.array([3.0, 4, 2, 4, 5, 4]), sm.add_constant(np.array([0.0, 0, 0, 1, 1, 1]))).fit(
        cov_type="cluster", cov_kwds={"groups": users}, use_t=True)
    assert (small["judge_ci_low"], small["judge_ci_high"]) == pytest.approx(tuple(ref.conf_int(alpha=0.05)[1]),
                                                                             rel=1e-9)


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
    from pipeline.calibration.correlation import kendall_rows, pearson_rows

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


def test_clustered_difference_leaves_out_nan_scores_and_takes_missing_cluster_ids():
    import numpy as np

    from pipeline.calibration.correlation import clustered_difference

    y = np.array([1.0, 2.0, 2.5, 3.0, 4.0, 3.5, np.nan])
    t = np.array([0, 0, 0, 1, 1, 1, 1])
    clusters = ["u1", "u2", None, "u3", "u4", 5, "u6"]
    d = clustered_difference(y, t, clusters)
    ref = clustered_difference(y[:6], t[:6], ["u1", "u2", "none-id", "u3", "u4", "5"])
    assert d.diff == ref.diff and d.se == ref.se and d.reason is None
