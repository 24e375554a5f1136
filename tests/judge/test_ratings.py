"""Bradley-Terry against scikit-learn's logistic regression and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.judge.ratings import ELO, Comparison, Verdict, bradley_terry, combine_orders, fit


def simulated(thetas: dict[str, float], n_items: int, seed: int, gamma: float = 0.0) -> list[Comparison]:
    rng = np.random.default_rng(seed)
    names = sorted(thetas)
    out = []
    for item in range(n_items):
        i, j = rng.choice(len(names), 2, replace=False)
        a, b = sorted((names[i], names[j]))
        lr = float(rng.normal(0, 0.5))
        p = 1 / (1 + math.exp(-(thetas[a] - thetas[b] + gamma * lr)))
        u = rng.random()
        outcome = 0.5 if abs(u - p) < 0.05 else (1.0 if u < p else 0.0)  # some ties
        out.append(Comparison(f"i{item}", a, b, outcome, lr))
    return out


def sklearn_reference(comparisons: list[Comparison], variants: list[str], baseline: str, length: bool) -> np.ndarray:
    """Logistic regression without intercept or penalty; a tie is a win and a loss of weight 0.5."""
    free = [v for v in variants if v != baseline]
    rows, ys, weights = [], [], []
    for c in comparisons:
        x = [(1.0 if v == c.a else -1.0 if v == c.b else 0.0) for v in free] + ([c.log_length_ratio] if length else [])
        for y, w in ((1, c.outcome), (0, 1 - c.outcome)):
            if w > 0:
                rows.append(x)
                ys.append(y)
                weights.append(w)
    model = LogisticRegression(penalty=None, fit_intercept=False, tol=1e-10, max_iter=10_000)
    model.fit(np.array(rows), np.array(ys), sample_weight=np.array(weights))
    return model.coef_[0]


@pytest.mark.parametrize("length", [False, True])
def test_matches_logistic_regression(length):
    truth = {"base": 0.0, "b": 0.4, "c": -0.3, "d": 0.9}
    comparisons = simulated(truth, 3000, seed=1, gamma=0.8 if length else 0.0)
    variants = sorted(truth)
    thetas, gamma = fit(comparisons, variants, "base", length_controlled=length)
    reference = sklearn_reference(comparisons, variants, "base", length)
    ours = [thetas[v] for v in variants if v != "base"] + ([gamma] if length else [])
    np.testing.assert_allclose(ours, reference, atol=1e-3)  # the ridge of 1e-6 moves nothing visible


def test_hand_computed_cases_with_ties():
    # 3 wins and 1 loss: theta = ln 3; 2 wins, 2 ties, 0 losses is 3 wins and 1 loss too
    wins = [Comparison(f"i{k}", "a", "base", o) for k, o in enumerate([1, 1, 1, 0])]
    ties = [Comparison(f"i{k}", "a", "base", o) for k, o in enumerate([1, 1, 0.5, 0.5])]
    for comparisons in (wins, ties):
        thetas, _ = fit(comparisons, ["a", "base"], "base")
        assert thetas["a"] == pytest.approx(math.log(3), abs=1e-4)
    # all ties: equal strength
    assert fit([Comparison("i", "a", "base", 0.5)] * 4, ["a", "base"], "base")[0]["a"] == pytest.approx(0, abs=1e-6)


def test_orders_are_combined_and_disagreement_is_a_tie():
    verdicts = [
        Verdict("q1", "new", "base", "ab", "a", 300, 100), Verdict("q1", "base", "new", "ba", "b", 100, 300),  # agree: new
        Verdict("q2", "new", "base", "ab", "a"), Verdict("q2", "base", "new", "ba", "a"),  # each time the first shown won
        Verdict("q3", "new", "base", "ab", "tie"),  # one order only
    ]
    comparisons, consistency = combine_orders(verdicts)
    by_item = {c.item_id: c for c in comparisons}
    assert (by_item["q1"].a, by_item["q1"].b, by_item["q1"].outcome) == ("base", "new", 0.0)  # new (b) won
    assert by_item["q1"].log_length_ratio == pytest.approx(math.log(100 / 300))
    assert by_item["q2"].outcome == 0.5 and by_item["q3"].outcome == 0.5
    assert (consistency.pairs, consistency.consistent, consistency.single_order) == (2, 1, 1) and consistency.rate == 0.5


def test_ratings_on_the_elo_scale_with_bootstrap_cis():
    truth = {"base": 0.0, "better": 0.6, "worse": -0.6}
    ratings = {r.variant: r for r in bradley_terry(simulated(truth, 1500, seed=3), "base", resamples=500, seed=7)}
    assert ratings["base"].rating == 1000 and ratings["base"].win_rate_vs_baseline is None
    for name, theta in truth.items():
        r = ratings[name]
        assert r.ci_low <= r.rating <= r.ci_high
        assert r.ci_low - 5 <= 1000 + ELO * theta <= r.ci_high + 5
    assert ratings["better"].win_rate_vs_baseline > 0.55 > 0.45 > ratings["worse"].win_rate_vs_baseline
    again = {r.variant: r for r in bradley_terry(simulated(truth, 1500, seed=3), "base", resamples=500, seed=7)}
    assert again["better"] == ratings["better"]  # seeded


def test_bootstrap_interval_coverage_on_simulated_data():
    """A 90% interval should hold the true value in roughly 90% of repeated experiments."""
    truth = {"base": 0.0, "x": 0.5}
    hits = 0
    runs = 40
    for seed in range(runs):
        r = {r.variant: r for r in bradley_terry(simulated(truth, 300, seed=100 + seed), "base", resamples=500,
                                                   seed=seed, level=0.90)}["x"]
        hits += r.ci_low <= 1000 + ELO * 0.5 <= r.ci_high
    assert 0.75 <= hits / runs <= 1.0  # 90% nominal; 40 runs give a binomial sd of about 5%


def test_length_control_removes_a_pure_length_advantage():
    # "long" is no better, but the judge prefers longer answers and long is always longer
    rng = np.random.default_rng(5)
    comparisons = []
    for k in range(2000):
        lr = float(rng.uniform(0.2, 1.5)) if k % 2 else 0.0  # half the pairs differ in length, always in long's favour
        outcome = 1.0 if rng.random() < 1 / (1 + math.exp(-1.2 * lr)) else 0.0
        comparisons.append(Comparison(f"i{k}", "long", "base", outcome, lr))
    plain = fit(comparisons, ["base", "long"], "base")[0]["long"]
    controlled, gamma = fit(comparisons, ["base", "long"], "base", length_controlled=True)
    assert plain > 0.3 and abs(controlled["long"]) < abs(plain) / 2 and gamma > 0.5


def test_bad_input():
    with pytest.raises(ValueError, match="baseline 'zzz' is not among"):
        fit([Comparison("i", "a", "b", 1)], ["a", "b"], "zzz")
    with pytest.raises(ValueError, match="at least 500"):
        bradley_terry([Comparison("i", "a", "b", 1)], "a", resamples=100)
