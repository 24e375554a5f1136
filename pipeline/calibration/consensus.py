"""Judge calibration against humans: judge_human_agreement rows for one month.

Pointwise, per judge version and dimension (and per topic where a topic has enough items):
the human consensus of an item is the median of its annotators' scores, rounded half up to a
scale point. Agreement is judged against it:
- exact_agreement: judge == consensus; within_one_agreement: |judge - consensus| <= 1;
- Cohen's kappa unweighted, linear and quadratic (judge against consensus);
- Krippendorff's alpha (ordinal) among the humans, and with the judge as one more coder;
- human_human_kappa: mean quadratic-weighted Cohen's kappa over annotator pairs with at least
  5 items in common (the ceiling), human_pairs the number of pairs averaged, human_pair_kappas
  each pair's kappa;
- Spearman between the judge and the unrounded median;
- bootstrap CIs (items resampled) for within-one agreement, quadratic kappa and Spearman.
Every kappa, the judge's and the annotators', is on the rubric's scale (every integer point
from its min to its max, widened to any score seen outside it), never on the points that happen
to be used: annotators who used only 1, 2 and 5 are three steps apart on 2-vs-5, not one.

Pairwise, per judge version: the human majority per (item, pair) is taken over the votes a, b
and tie, a tie vote counting like any other: the label with the most votes wins, and when the
top count is shared (a against b, a winner against tie, a three-way split a/b/tie) the humans
picked no winner and the majority is a tie. The judge's verdict combines its two orders (the
same winner in both, else a tie). Against the majority, with ties as a third class:
- agreement_with_ties (every item), agreement_without_ties (items where neither the verdict nor
  the majority is a tie), kappa (unweighted Cohen's kappa over {a, b, tie});
- accuracy_order_ab / accuracy_order_ba: each presentation order's own verdict against the
  majority (over the items judged in that order), and accuracy_mean_orders their mean, the
  figure papers that swap positions publish; position_consistency: both orders give the same
  verdict (over items judged in both);
- human_human_kappa: mean unweighted Cohen's kappa over {a, b, tie} of annotator pairs with at
  least 5 items in common, with human_pairs and human_pair_kappas as above;
- fleiss_kappa (only when more than two annotators labelled the month's pairs): over the items
  rated by the most common number of annotators (the larger number when two are as common),
  fleiss_raters, as Fleiss' kappa needs the same number of raters (not the same people) on each
  item; items with another number of raters are left out (fleiss_items says how many are in),
  and it is empty under 5 items.
Status, in this order, the same rule for both kinds: insufficient_data (under 20 items),
rubric_vague (human-human kappa under 0.6: the humans themselves disagree), recalibrate
(agreement under 80% or kappa under 0.5), else ok. Pointwise, "agreement" is within-one on a
1-5 scale and "kappa" the quadratic-weighted one, the usual reading for ordinal rubrics;
pairwise, "agreement" is agreement_without_ties (how often the judge picks the humans' winner
when both pick one; published judges reach about 85% there, and human pairs about 81%, where
with ties both are nearer 65%, so an 80% floor on that figure would fail nearly every judge)
and "kappa" the unweighted one, which also catches a judge that abstains (says tie) too often
or follows the base rate (always "a" where the humans mostly say "a": 90% agreement, kappa 0).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import duckdb
import numpy as np

from pipeline.calibration.agreement import (
    PairKappa,
    bootstrap,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_ordinal,
    pairwise_kappas,
    spearman,
    spearman_rows,
)
from pipeline.warehouse import retrying, statement

MIN_ITEMS = 20
AGREEMENT_FLOOR = 0.8
KAPPA_FLOOR = 0.5
HUMAN_KAPPA_FLOOR = 0.6
MIN_COMMON = 5  # items an annotator pair (or Fleiss' kappa) needs in common
PAIRWISE_LABELS = ("a", "b", "tie")


@dataclass
class Item:
    key: tuple
    judge: int
    humans: dict[str, int]
    topic: str | None

    @property
    def median(self) -> float:
        return float(np.median(list(self.humans.values())))

    @property
    def consensus(self) -> int:
        return int(math.floor(self.median + 0.5))


def status(n_items: int, within_one: float, kappa_q: float, human_kappa: float) -> str:
    if n_items < MIN_ITEMS:
        return "insufficient_data"
    if not math.isnan(human_kappa) and human_kappa < HUMAN_KAPPA_FLOOR:
        return "rubric_vague"
    if within_one < AGREEMENT_FLOOR or (not math.isnan(kappa_q) and kappa_q < KAPPA_FLOOR):
        return "recalibrate"
    return "ok"


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _pair_summary(pairs: list[PairKappa]) -> dict:
    """human_human_kappa (mean of the defined pair kappas), human_pairs and human_pair_kappas."""
    defined = [p.kappa for p in pairs if not math.isnan(p.kappa)]
    return {"human_human_kappa": float(np.mean(defined)) if defined else math.nan, "human_pairs": len(defined),
            "human_pair_kappas": [{"annotator_a": p.annotator_a, "annotator_b": p.annotator_b, "n_items": p.n_items,
                                   "kappa": _nan_to_none(p.kappa)} for p in pairs]}


def scale_points(scale: tuple[int, int] | None, *scores) -> tuple[int, ...]:
    """Every integer point of the rubric's scale (low, high), widened to any score seen outside it;
    without a scale, every integer between the lowest and the highest score seen."""
    seen = [int(v) for values in scores for v in values]
    low = min(seen + ([scale[0]] if scale else []))
    high = max(seen + ([scale[1]] if scale else []))
    return tuple(range(low, high + 1))


def pointwise_row(items: list[Item], *, resamples: int = 1000, seed: int = 0,
                  scale: tuple[int, int] | None = None) -> dict:
    """One row from items; `scale` is the rubric's (min, max) (None: the range of the scores seen)."""
    judge = np.array([i.judge for i in items])
    consensus = np.array([i.consensus for i in items])
    median = np.array([i.median for i in items])
    close = (np.abs(judge - consensus) <= 1).astype(float)
    annotators = sorted({a for i in items for a in i.humans})
    matrix = np.full((len(annotators) + 1, len(items)), np.nan)
    for col, item in enumerate(items):
        for a, score in item.humans.items():
            matrix[annotators.index(a), col] = score
        matrix[-1, col] = item.judge
    # one scale for every kappa, the judge's and the annotators': weighted kappas keep the
    # rubric's spacing even where a point is unused (1-5 rubrics, 0-1 binary ones)
    points = scale_points(scale, judge.tolist(), consensus.tolist(), [s for i in items for s in i.humans.values()])
    per_annotator = {a: {i.key: i.humans[a] for i in items if a in i.humans} for a in annotators}
    humans = _pair_summary(pairwise_kappas(per_annotator, "quadratic", MIN_COMMON, points))
    n = len(items)
    within = bootstrap(n, lambda idx: float(close[idx].mean()), resamples=resamples, seed=seed)
    kappa_q = bootstrap(n, lambda idx: cohen_kappa(judge[idx], consensus[idx], "quadratic", points), resamples=resamples,
                        seed=seed)
    rho = bootstrap(n, lambda idx: spearman(judge[idx], median[idx]), resamples=resamples, seed=seed,
                    vectorized=lambda idx: spearman_rows(judge[idx], median[idx]))
    row = {
        "n_items": n, "n_labels": int(sum(len(i.humans) for i in items)), "annotators": len(annotators),
        "exact_agreement": float((judge == consensus).mean()), "within_one_agreement": within.estimate,
        "within_one_ci_low": within.low, "within_one_ci_high": within.high,
        "kappa": cohen_kappa(judge, consensus, None, points), "kappa_linear": cohen_kappa(judge, consensus, "linear", points),
        "kappa_quadratic": kappa_q.estimate, "kappa_quadratic_ci_low": kappa_q.low, "kappa_quadratic_ci_high": kappa_q.high,
        "alpha_humans": krippendorff_alpha_ordinal(matrix[:-1]), "alpha_with_judge": krippendorff_alpha_ordinal(matrix),
        **humans, "spearman": rho.estimate, "spearman_ci_low": rho.low,
        "spearman_ci_high": rho.high,
        "status": status(n, within.estimate, kappa_q.estimate, humans["human_human_kappa"]),
    }
    return {k: _nan_to_none(v) for k, v in row.items()}


def pointwise_items(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[tuple[str, str], list[Item]]:
    """(judge_version, dimension) -> items labelled in [start, end) with the judge's score."""
    grouped: dict[tuple, dict[tuple, Item]] = defaultdict(dict)
    rows = con.execute(statement("calibration/pointwise_pairs"), {"start": start, "end": end}).fetchall()
    for item_id, variant, dimension, annotator, human, version, judge, topic in rows:
        key = (item_id, variant)
        item = grouped[(version, dimension)].setdefault(key, Item(key, judge, {}, topic))
        item.humans[annotator] = human
    return {k: list(v.values()) for k, v in grouped.items()}


def majority(votes) -> str:
    """The human consensus on one pair from votes a, b and tie: the label with the most votes;
    when the top count is shared (a-b, a-tie, b-tie or a three-way split) no winner: tie."""
    count = Counter(votes)
    top = max(count.values())
    leaders = [label for label, c in count.items() if c == top]
    return leaders[0] if len(leaders) == 1 else "tie"


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if values else None


def fleiss_items(votes: dict[tuple, dict[str, str]]) -> tuple[float, int, int]:
    """Fleiss' kappa over {a, b, tie} of the items rated by the most common number of annotators
    (the larger number on a draw): (kappa, items, raters per item); NaN under MIN_COMMON items."""
    sizes = Counter(len(v) for v in votes.values() if len(v) >= 2)
    if not sizes:  # no item has two raters: nothing to measure (as with two or fewer annotators)
        return math.nan, None, None
    raters = max(sizes, key=lambda m: (sizes[m], m))
    table = np.array([[Counter(v.values())[label] for label in PAIRWISE_LABELS]
                      for v in votes.values() if len(v) == raters])
    return (fleiss_kappa(table) if len(table) >= MIN_COMMON else math.nan), len(table), raters


def pairwise_row(rows: list[tuple]) -> dict:
    """rows: (item_id, variant_a, variant_b, annotator, human winner, position, judge winner), a
    human label once per judge order it is joined with."""
    humans: dict[tuple, dict[str, str]] = defaultdict(dict)
    judged: dict[tuple, dict[str, str]] = defaultdict(dict)
    for item_id, a, b, annotator, human, position, judge in rows:
        humans[(item_id, a, b)][annotator] = human
        judged[(item_id, a, b)][position] = judge
    keys = sorted(humans)
    majorities = [majority(humans[key].values()) for key in keys]
    verdicts, consistent = [], []
    per_order: dict[str, list[bool]] = {"ab": [], "ba": []}
    for key, human in zip(keys, majorities):
        orders = judged[key]
        if len(orders) == 2:
            consistent.append(orders["ab"] == orders["ba"])
        for position, winner in orders.items():
            per_order[position].append(winner == human)
        found = set(orders.values())
        verdicts.append(found.pop() if len(found) == 1 else "tie")
    with_ties = [v == h for v, h in zip(verdicts, majorities)]
    without_ties = [v == h for v, h in zip(verdicts, majorities) if v != "tie" and h != "tie"]
    annotators = sorted({annotator for votes in humans.values() for annotator in votes})
    per_annotator = {a: {key: votes[a] for key, votes in humans.items() if a in votes} for a in annotators}
    summary = _pair_summary(pairwise_kappas(per_annotator, None, MIN_COMMON, PAIRWISE_LABELS))
    fleiss, fleiss_n, fleiss_m = fleiss_items(humans) if len(annotators) > 2 else (math.nan, None, None)
    order_ab, order_ba = _mean(per_order["ab"]), _mean(per_order["ba"])
    n, agree, without = len(keys), _mean(with_ties), _mean(without_ties)
    kappa = cohen_kappa(verdicts, majorities, None, PAIRWISE_LABELS)
    row = {"n_items": n, "n_labels": sum(len(v) for v in humans.values()), "annotators": len(annotators),
           "agreement_with_ties": agree, "agreement_without_ties": without, "kappa": kappa,
           "accuracy_order_ab": order_ab, "accuracy_order_ba": order_ba,
           "accuracy_mean_orders": (order_ab + order_ba) / 2 if order_ab is not None and order_ba is not None else None,
           "position_consistency": _mean(consistent), **summary,
           "fleiss_kappa": fleiss, "fleiss_items": fleiss_n, "fleiss_raters": fleiss_m,
           "status": status(n, math.nan if without is None else without, kappa, summary["human_human_kappa"])}
    return {k: _nan_to_none(v) for k, v in row.items()}


def agreement_rows(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, *, resamples: int = 1000,
                   scale: tuple[int, int] | None = None, log=lambda message: None) -> list[dict]:
    """Every judge_human_agreement row for labels made in [start, end); `scale` is the rubric's
    (min, max) (None: the range of the scores seen)."""
    params = {"start": start, "end": end}
    base = {"month": start, "kind": "pointwise", "slice_dimension": None, "slice_value": None}
    out = []
    groups = pointwise_items(con, start, end)
    for (version, dimension), items in sorted(groups.items()):
        out.append({**base, "judge_version": version, "dimension": dimension,
                    **pointwise_row(items, resamples=resamples, scale=scale)})
        by_topic = defaultdict(list)
        for item in items:
            if item.topic:
                by_topic[item.topic].append(item)
        for topic, subset in sorted(by_topic.items()):
            if len(subset) >= MIN_ITEMS:
                out.append({**base, "judge_version": version, "dimension": dimension, "slice_dimension": "topic",
                            "slice_value": topic, **pointwise_row(subset, resamples=resamples, scale=scale)})
        log(f"judge_human_agreement {start:%Y-%m}: {version} {dimension}: {len(items)} items")
    pairs: dict[str, list[tuple]] = defaultdict(list)
    for item_id, a, b, annotator, human, version, position, judge in con.execute(
            statement("calibration/pairwise_pairs"), params).fetchall():
        pairs[version].append((item_id, a, b, annotator, human, position, judge))
    for version, rows in sorted(pairs.items()):
        out.append({**base, "kind": "pairwise", "judge_version": version, "dimension": "preference",
                    **pairwise_row(rows)})
    return out


COLUMNS = ("month", "judge_version", "kind", "dimension", "slice_dimension", "slice_value", "n_items", "n_labels",
           "annotators", "exact_agreement", "within_one_agreement", "within_one_ci_low", "within_one_ci_high", "kappa",
           "kappa_linear", "kappa_quadratic", "kappa_quadratic_ci_low", "kappa_quadratic_ci_high", "alpha_humans",
           "alpha_with_judge", "human_human_kappa", "spearman", "spearman_ci_low", "spearman_ci_high",
           "agreement_with_ties", "agreement_without_ties", "position_consistency", "status", "human_pairs",
           "human_pair_kappas", "fleiss_kappa", "fleiss_items", "fleiss_raters", "accuracy_order_ab",
           "accuracy_order_ba", "accuracy_mean_orders")


def store_agreement(con: duckdb.DuckDBPyConnection, month: dt.date, rows: list[dict]) -> None:
    """Replace the month's rows, in one transaction (retried when a concurrent run's commit conflicts)."""
    def write() -> None:
        con.execute("delete from judge_human_agreement where month = $m", {"m": month})
        if rows:
            con.executemany(f"insert into judge_human_agreement ({', '.join(COLUMNS)}, computed_at) "
                            f"values ({', '.join('?' for _ in COLUMNS)}, now())",
                            [[r.get(c) for c in COLUMNS] for r in rows])

    retrying(con, write, f"judge_human_agreement {month:%Y-%m}")


def agreement_table(rows: list[dict], limit: int = 40) -> list[dict]:
    """A preview, one record per month, judge version and dimension (the whole-month rows), for a
    table in the asset's metadata."""
    def fmt(v):
        return None if v is None else round(float(v), 2)
    table = []
    for r in [r for r in rows if r["slice_dimension"] is None][:limit]:
        # the status rule's figures: within-one and quadratic kappa; pairwise, without ties and unweighted
        pointwise = r["kind"] == "pointwise"
        agree = r.get("within_one_agreement") if pointwise else r.get("agreement_without_ties")
        kappa = r.get("kappa_quadratic") if pointwise else r.get("kappa")
        table.append({"month": str(r["month"])[:7], "judge version": r["judge_version"], "dimension": r["dimension"],
                      "n": r["n_items"], "agreement": fmt(agree), "kappa": fmt(kappa),
                      "human kappa": fmt(r.get("human_human_kappa")), "status": r["status"]})
    return table


@dataclass(frozen=True)
class History:
    periods: list[tuple[str, int, dt.date, dt.date]]  # (month | quarter, rows, first, last)
    needs_attention: list[tuple[str, str, list[str], list[str]]]  # (month, judge version, recalibrate, drifted)


def rebuild_history(con: duckdb.DuckDBPyConnection) -> History:
    """Replace calibration_history whole from the calibration tables (so re-runs and backfills
    never duplicate a period); returns what it holds and the months that need attention."""
    def write() -> None:
        con.execute("delete from calibration_history")
        con.execute(statement("calibration/history"))

    retrying(con, write, "calibration_history")
    periods = con.execute("select period, count(*), min(period_start), max(period_start) from calibration_history "
                          "group by period order by period").fetchall()
    return History(periods, con.execute(statement("calibration/needs_attention")).fetchall())
