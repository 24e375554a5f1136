"""Judge calibration against humans: judge_human_agreement rows for one month.

Pointwise, per judge version and dimension (and per topic where a topic has enough items):
the human consensus of an item is the median of its annotators' scores, rounded half up to a
scale point. Agreement is judged against it:
- exact_agreement: judge == consensus; within_one_agreement: |judge - consensus| <= 1;
- Cohen's kappa unweighted, linear and quadratic (judge against consensus);
- Krippendorff's alpha (ordinal) among the humans, and with the judge as one more coder;
- human_human_kappa: mean pairwise quadratic-weighted kappa of annotators (the ceiling);
- Spearman between the judge and the unrounded median;
- bootstrap CIs (items resampled) for within-one agreement, quadratic kappa and Spearman.
Status, in this order: insufficient_data (under 20 items), rubric_vague (human-human kappa
under 0.6: the humans themselves disagree), recalibrate (within-one agreement under 80% or
quadratic kappa under 0.5), else ok. "Agreement" means within-one on a 1-5 scale, and
"kappa" the quadratic-weighted one, the usual reading for ordinal rubrics.

Pairwise, per judge version: the human majority per (item, pair) (a tie when a and b draw);
the judge's verdict combines its two orders (the same winner in both, else a tie);
agreement with ties (three classes) and without (items where neither side is a tie), and the
judge's position consistency (both orders give the same verdict).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import duckdb
import numpy as np

from pipeline.agreement import (
    bootstrap, cohen_kappa, krippendorff_alpha_ordinal, mean_pairwise_kappa, spearman, spearman_rows,
)
from pipeline.warehouse import statement

MIN_ITEMS = 20
AGREEMENT_FLOOR = 0.8
KAPPA_FLOOR = 0.5
HUMAN_KAPPA_FLOOR = 0.6


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


def pointwise_row(items: list[Item], *, resamples: int = 1000, seed: int = 0) -> dict:
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
    per_annotator = {a: {i.key: i.humans[a] for i in items if a in i.humans} for a in annotators}
    human_kappa, _ = mean_pairwise_kappa(per_annotator, "quadratic")
    n = len(items)
    # every integer point between the lowest and the highest score seen, so that weighted kappas
    # keep the scale's spacing even where a point is unused (1-5 rubrics, 0-1 binary ones)
    scale = tuple(range(int(min(judge.min(), consensus.min())), int(max(judge.max(), consensus.max())) + 1))
    within = bootstrap(n, lambda idx: float(close[idx].mean()), resamples=resamples, seed=seed)
    kappa_q = bootstrap(n, lambda idx: cohen_kappa(judge[idx], consensus[idx], "quadratic", scale), resamples=resamples,
                        seed=seed)
    rho = bootstrap(n, lambda idx: spearman(judge[idx], median[idx]), resamples=resamples, seed=seed,
                    vectorized=lambda idx: spearman_rows(judge[idx], median[idx]))
    row = {
        "n_items": n, "n_labels": int(sum(len(i.humans) for i in items)), "annotators": len(annotators),
        "exact_agreement": float((judge == consensus).mean()), "within_one_agreement": within.estimate,
        "within_one_ci_low": within.low, "within_one_ci_high": within.high,
        "kappa": cohen_kappa(judge, consensus, None, scale), "kappa_linear": cohen_kappa(judge, consensus, "linear", scale),
        "kappa_quadratic": kappa_q.estimate, "kappa_quadratic_ci_low": kappa_q.low, "kappa_quadratic_ci_high": kappa_q.high,
        "alpha_humans": krippendorff_alpha_ordinal(matrix[:-1]), "alpha_with_judge": krippendorff_alpha_ordinal(matrix),
        "human_human_kappa": human_kappa, "spearman": rho.estimate, "spearman_ci_low": rho.low,
        "spearman_ci_high": rho.high,
        "status": status(n, within.estimate, kappa_q.estimate, human_kappa),
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


def pairwise_row(rows: list[tuple]) -> dict:
    """rows: (item_id, variant_a, variant_b, annotator, human winner, position, judge winner)."""
    humans: dict[tuple, dict[str, str]] = defaultdict(dict)
    judged: dict[tuple, dict[str, str]] = defaultdict(dict)
    for item_id, a, b, annotator, human, position, judge in rows:
        humans[(item_id, a, b)][annotator] = human
        judged[(item_id, a, b)][position] = judge
    with_ties, without_ties, consistent, both_orders = [], [], [], 0
    for key, votes in humans.items():
        count = Counter(votes.values())
        majority = "tie" if count["a"] == count["b"] else ("a" if count["a"] > count["b"] else "b")
        orders = judged[key]
        if len(orders) == 2:
            both_orders += 1
            consistent.append(orders["ab"] == orders["ba"])
        verdicts = set(orders.values())
        verdict = verdicts.pop() if len(verdicts) == 1 else "tie"
        with_ties.append(verdict == majority)
        if verdict != "tie" and majority != "tie":
            without_ties.append(verdict == majority)
    n = len(humans)
    agree = float(np.mean(with_ties)) if with_ties else None
    return {"n_items": n, "n_labels": len(rows), "annotators": len({r[3] for r in rows}),
            "agreement_with_ties": agree,
            "agreement_without_ties": float(np.mean(without_ties)) if without_ties else None,
            "position_consistency": float(np.mean(consistent)) if consistent else None,
            "status": "insufficient_data" if n < MIN_ITEMS else ("recalibrate" if agree < AGREEMENT_FLOOR else "ok")}


def agreement_rows(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, *, resamples: int = 1000,
                   log=lambda message: None) -> list[dict]:
    """Every judge_human_agreement row for labels made in [start, end)."""
    params = {"start": start, "end": end}
    base = {"month": start, "kind": "pointwise", "slice_dimension": None, "slice_value": None}
    out = []
    groups = pointwise_items(con, start, end)
    for (version, dimension), items in sorted(groups.items()):
        out.append({**base, "judge_version": version, "dimension": dimension, **pointwise_row(items, resamples=resamples)})
        by_topic = defaultdict(list)
        for item in items:
            if item.topic:
                by_topic[item.topic].append(item)
        for topic, subset in sorted(by_topic.items()):
            if len(subset) >= MIN_ITEMS:
                out.append({**base, "judge_version": version, "dimension": dimension, "slice_dimension": "topic",
                            "slice_value": topic, **pointwise_row(subset, resamples=resamples)})
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
           "agreement_with_ties", "agreement_without_ties", "position_consistency", "status")


def store_agreement(con: duckdb.DuckDBPyConnection, month: dt.date, rows: list[dict]) -> None:
    con.execute("delete from judge_human_agreement where month = $m", {"m": month})
    if rows:
        con.executemany(f"insert into judge_human_agreement ({', '.join(COLUMNS)}, computed_at) "
                        f"values ({', '.join('?' for _ in COLUMNS)}, now())",
                        [[r.get(c) for c in COLUMNS] for r in rows])


def agreement_table(rows: list[dict], limit: int = 40) -> str:
    """A markdown preview: the whole-month rows, one line per month, judge version and dimension."""
    def fmt(v):
        return "" if v is None else f"{v:.2f}"
    lines = ["| month | judge version | dimension | n | within-one | kappa (quadratic) | human kappa | status |",
             "|---|---|---|---|---|---|---|---|"]
    for r in [r for r in rows if r["slice_dimension"] is None][:limit]:
        agree = r.get("within_one_agreement") if r["kind"] == "pointwise" else r.get("agreement_with_ties")
        lines.append(f"| {str(r['month'])[:7]} | {r['judge_version']} | {r['dimension']} | {r['n_items']} | {fmt(agree)} "
                     f"| {fmt(r.get('kappa_quadratic'))} | {fmt(r.get('human_human_kappa'))} | {r['status']} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class History:
    periods: list[tuple[str, int, dt.date, dt.date]]  # (month | quarter, rows, first, last)
    needs_attention: list[tuple[str, str, list[str], list[str]]]  # (month, judge version, recalibrate, drifted)


def rebuild_history(con: duckdb.DuckDBPyConnection) -> History:
    """Replace calibration_history whole from the calibration tables (so re-runs and backfills
    never duplicate a period); returns what it holds and the months that need attention."""
    con.execute("begin")
    try:
        con.execute("delete from calibration_history")
        con.execute(statement("calibration/history"))
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    periods = con.execute("select period, count(*), min(period_start), max(period_start) from calibration_history "
                          "group by period order by period").fetchall()
    return History(periods, con.execute(statement("calibration/needs_attention")).fetchall())
