"""Bradley-Terry ratings of variants from pairwise verdicts, plain and length-controlled.

Model: P(a beats b) = sigmoid(theta_a - theta_b [+ gamma * log(len_a / len_b)]), fitted by
maximum likelihood (scipy L-BFGS with the exact gradient). A tie counts as half a win for each
side. The baseline's theta is fixed at 0; ratings are on the Elo scale,
1000 + 400 / ln(10) * theta, so the baseline is 1000 and +100 means winning 64% against it.
The length-controlled fit adds the log length ratio as a covariate, so a variant does not gain
rating just by writing longer answers (judges favour length).

Both orders of a pair on an item form one comparison: when the two verdicts agree (after
undoing the swap) that is the outcome; when they disagree the judge was swayed by position and
the comparison counts as a tie. Confidence intervals: seeded bootstrap over items.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

ELO = 400.0 / math.log(10.0)


@dataclass(frozen=True)
class Verdict:
    """One judged pair: variant_a was shown first when position is 'ab'."""

    item_id: str
    variant_a: str
    variant_b: str
    position: str  # ab or ba
    winner: str  # "a" (variant_a won), "b" (variant_b won) or "tie", whichever order was shown
    length_a: int = 0
    length_b: int = 0


@dataclass(frozen=True)
class Comparison:
    item_id: str
    a: str
    b: str
    outcome: float  # 1: a wins, 0: b wins, 0.5: tie
    log_length_ratio: float = 0.0  # log(len_a / len_b)


@dataclass(frozen=True)
class Consistency:
    pairs: int  # (item, a, b) judged in both orders
    consistent: int  # both orders gave the same result
    single_order: int  # judged in one order only (used as it is)

    @property
    def rate(self) -> float:
        return self.consistent / self.pairs if self.pairs else float("nan")


def combine_orders(verdicts: list[Verdict]) -> tuple[list[Comparison], Consistency]:
    """One comparison per (item, unordered pair); `winner` names variant_a or variant_b."""
    grouped: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    lengths: dict[tuple[str, str, str], float] = {}
    for v in verdicts:
        a, b = sorted((v.variant_a, v.variant_b))
        # outcome for the alphabetically first variant
        won_by_a = {"a": v.variant_a, "b": v.variant_b}.get(v.winner)
        outcome = 0.5 if v.winner == "tie" else (1.0 if won_by_a == a else 0.0)
        key = (v.item_id, a, b)
        grouped[key].append(outcome)
        if v.length_a and v.length_b:
            la, lb = (v.length_a, v.length_b) if v.variant_a == a else (v.length_b, v.length_a)
            lengths[key] = math.log(la / lb)
    comparisons, both, consistent, single = [], 0, 0, 0
    for (item, a, b), outcomes in sorted(grouped.items()):
        if len(outcomes) >= 2:
            both += 1
            agree = len(set(outcomes)) == 1
            consistent += agree
            outcome = outcomes[0] if agree else 0.5  # position decided it: a tie, by rule
        else:
            single += 1
            outcome = outcomes[0]
        comparisons.append(Comparison(item, a, b, outcome, lengths.get((item, a, b), 0.0)))
    return comparisons, Consistency(both, consistent, single)


def fit(comparisons: list[Comparison], variants: list[str], baseline: str, *, length_controlled: bool = False,
        l2: float = 1e-6) -> tuple[dict[str, float], float]:
    """Maximum-likelihood thetas (baseline 0) and the length coefficient (0 when not fitted).

    `l2` is a tiny ridge that keeps estimates finite when a variant wins every comparison; it
    moves non-degenerate estimates by less than 1e-4."""
    if baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not among the compared variants {sorted(variants)}")
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    free = [v for v in variants if v != baseline]
    index = {v: i for i, v in enumerate(free)}
    n = len(comparisons)
    design = np.zeros((n, len(free) + (1 if length_controlled else 0)))
    for row, c in enumerate(comparisons):
        if c.a in index:
            design[row, index[c.a]] += 1.0
        if c.b in index:
            design[row, index[c.b]] -= 1.0
        if length_controlled:
            design[row, -1] = c.log_length_ratio
    y = np.array([c.outcome for c in comparisons])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ beta
        nll = -np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)) + l2 * beta @ beta
        grad = -design.T @ (y - expit(z)) + 2 * l2 * beta
        return float(nll), grad

    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000, "gtol": 1e-10})
    beta = result.x
    thetas = {baseline: 0.0, **{v: float(beta[index[v]]) for v in free}}
    return thetas, float(beta[-1]) if length_controlled else 0.0


@dataclass(frozen=True)
class Rating:
    variant: str
    baseline: str
    rating: float
    ci_low: float
    ci_high: float
    win_rate_vs_baseline: float | None
    n_comparisons: int
    length_controlled: bool


def bradley_terry(comparisons: list[Comparison], baseline: str, *, length_controlled: bool = False,
                  resamples: int = 500, seed: int = 0, level: float = 0.95) -> list[Rating]:
    """Ratings with percentile bootstrap CIs (resampling items, so both orders and every pair
    of an item move together)."""
    if resamples < 500:
        raise ValueError("use at least 500 bootstrap resamples")
    variants = sorted({c.a for c in comparisons} | {c.b for c in comparisons})
    thetas, _ = fit(comparisons, variants, baseline, length_controlled=length_controlled)
    by_item: dict[str, list[Comparison]] = defaultdict(list)
    for c in comparisons:
        by_item[c.item_id].append(c)
    items = sorted(by_item)
    rng = np.random.default_rng(seed)
    draws = {v: [] for v in variants}
    for _ in range(resamples):
        sample = [c for i in rng.integers(0, len(items), len(items)) for c in by_item[items[i]]]
        present = sorted({c.a for c in sample} | {c.b for c in sample})
        if baseline not in present:
            continue
        boot, _ = fit(sample, present, baseline, length_controlled=length_controlled)
        for v, t in boot.items():
            draws[v].append(t)
    alpha = (1 - level) / 2
    ratings = []
    for v in variants:
        vs_base = [c for c in comparisons if {c.a, c.b} == {v, baseline}] if v != baseline else []
        wins = sum(c.outcome if c.a == v else 1 - c.outcome for c in vs_base)
        lo, hi = (np.quantile(draws[v], [alpha, 1 - alpha]) if draws[v] else (float("nan"), float("nan")))
        ratings.append(Rating(v, baseline, 1000 + ELO * thetas[v], 1000 + ELO * float(lo), 1000 + ELO * float(hi),
                              wins / len(vs_base) if vs_base else None,
                              sum(1 for c in comparisons if v in (c.a, c.b)), length_controlled))
    return sorted(ratings, key=lambda r: -r.rating)
