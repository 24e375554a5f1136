"""ppi_estimates and label_queue: prediction-powered estimates of what people would say, from
the judge's scores on every item of a month and people's labels on a few (issue 18).

The statistics are pure functions in `pipeline.calibration.ppi`; this module reads the month's
items from the warehouse, groups them and writes the tables.

- ppi_estimates: per judge version, variant (and '*', all variants together), dimension and
  topic slice with at least MIN_LABELS labelled items; paired differences between two variants
  on the same items where both were judged and labelled. Labels that came through the month's
  label queue are estimated with the active, inverse-probability-weighted estimator over the
  queue's pool (method 'active'); the others, taken to be a uniform sample, with PPI++
  (method 'ppi++'); the two never share an estimate (their sampling designs differ).
- label_queue: the month's judged, unlabelled logged requests, each with a probability of being
  labelled next: a uniform floor plus a share proportional to the judge's expected error there;
  an independent draw picks the items. A drawn queue is kept as it is: the labels that come back
  are weighted by the probabilities they were drawn with.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipeline.calibration import ppi
from pipeline.warehouse import retrying, statement

# labelled items an estimate needs (fewer: no row). With the t interval, simulated 95% coverage is
# 92.8% at 10 labels, 93.6% at 15 and 94-95% from 25 (the normal one: 88%, 91%, 93%)
MIN_LABELS = 15
ALL_VARIANTS = "*"
COLUMNS = ("month", "scope", "eval_set_version", "judge_version", "method", "variant", "compared_to", "dimension", "slice_dimension", "slice_value",
           "n_labeled", "n_unlabeled", "estimate", "ci_low", "ci_high", "power_lambda", "classical_estimate",
           "classical_ci_low", "classical_ci_high", "judge_estimate", "judge_ci_low", "judge_ci_high",
           "effective_labels", "labels_saved", "queue_unlabelled")


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _row(key: dict, est: ppi.Estimate, queue_unlabelled: int | None) -> dict:
    # no spread at all (every label the same, the judge no help): an interval of width 0 would
    # claim certainty that a dozen identical labels do not give; it is left empty
    spread, classical_spread = est.se > 0, est.classical_se > 0
    return {**key, "n_labeled": est.n_labeled, "n_unlabeled": est.n_unlabeled,
            "estimate": _finite(est.estimate), "ci_low": _finite(est.ci_low) if spread else None,
            "ci_high": _finite(est.ci_high) if spread else None,
            "power_lambda": _finite(est.lam), "classical_estimate": _finite(est.classical_estimate),
            "classical_ci_low": _finite(est.classical_ci_low) if classical_spread else None,
            "classical_ci_high": _finite(est.classical_ci_high) if classical_spread else None,
            "judge_estimate": _finite(est.judge_estimate), "judge_ci_low": _finite(est.judge_ci_low),
            "judge_ci_high": _finite(est.judge_ci_high), "effective_labels": _finite(est.effective_labels),
            "labels_saved": _finite(est.effective_labels - est.n_labeled),
            "queue_unlabelled": queue_unlabelled}


def _estimates(frame: pl.DataFrame, key: dict, min_labels: int) -> list[dict]:
    """The rows of one group: `frame` holds one row per item with judge, human (null: unlabelled),
    queued (selected by the month's queue), inclusion_probability (null: not in the queue) and
    queue_judge (the judge version whose scores drew the queue).

    PPI++ takes the labels that did not come through the queue as the uniform sample and every
    other item, queued ones included, as unlabelled (their labels, drawn by the judge's expected
    error, are not a uniform sample; leaving the queued items out would skew the rest). The
    active estimator runs only for the queue's own judge version, which scored the whole pool."""
    out = []
    uniform_label = ~pl.col("queued") & pl.col("human").is_not_null()
    labelled = frame.filter(uniform_label)
    unlabelled = frame.filter(~uniform_label)
    if labelled.height >= min_labels and unlabelled.height >= 1:
        est = ppi.ppi_mean(labelled.get_column("human").to_numpy(), labelled.get_column("judge").to_numpy(),
                           unlabelled.get_column("judge").to_numpy())
        out.append(_row({**key, "method": "ppi++"}, est, None))
    pool = frame.filter(pl.col("inclusion_probability").is_not_null()
                        & (pl.col("queue_judge") == pl.col("judge_version")))
    if pool.height:
        mask = (pool.get_column("queued") & pool.get_column("human").is_not_null()).to_numpy()
        if int(mask.sum()) >= min_labels and (~mask).any():
            est = ppi.active_mean(pool.filter(pl.Series(mask)).get_column("human").to_numpy(),
                                  pool.get_column("judge").to_numpy(), mask,
                                  pool.get_column("inclusion_probability").to_numpy())
            missing = int((pool.get_column("queued") & pool.get_column("human").is_null()).sum())
            out.append(_row({**key, "method": "active"}, est, missing))
    return out


def _slices(frame: pl.DataFrame, key: dict, min_labels: int, slice_name: str = "topic") -> list[dict]:
    """The whole group's rows, then each slice's (the `topic` column holds the slice's value)."""
    rows = _estimates(frame, {**key, "slice_dimension": None, "slice_value": None}, min_labels)
    for (value,), part in sorted(frame.filter(pl.col("topic").is_not_null()).partition_by("topic", as_dict=True).items()):
        rows += _estimates(part, {**key, "slice_dimension": slice_name, "slice_value": value}, min_labels)
    return rows


def ppi_rows(con: duckdb.DuckDBPyConnection, start: date, end: date, *, min_labels: int = MIN_LABELS,
             log: Callable[[str], None] = lambda _: None) -> list[dict]:
    """Every estimate of the month [start, end), ordered by judge version, variant and dimension;
    in a quarter's first month also those of the quarter's eval-set version (its items, judged
    without a variant, labelled where people scored them; sliced by stratum kind)."""
    items = con.execute(statement("ppi/items"), {"start": start, "end": end}).pl()
    rows = _month_rows(items, {"month": start, "scope": "month", "eval_set_version": None}, min_labels, log)
    if start.month in (1, 4, 7, 10):
        evals = con.execute(statement("ppi/eval_items"), {"quarter": start}).pl()
        for (version_id,), part in sorted(evals.partition_by("version_id", as_dict=True).items()) if evals.height else []:
            rows += _month_rows(part.drop("version_id"), {"month": start, "scope": "eval_set_version",
                                                          "eval_set_version": version_id}, min_labels, log, "kind")
    return rows


def _month_rows(items: pl.DataFrame, scope: dict, min_labels: int, log: Callable[[str], None],
                slice_name: str = "topic") -> list[dict]:
    rows: list[dict] = []
    if items.is_empty():
        return rows
    for (version, dimension), part in sorted(items.partition_by(["judge_version", "dimension"], as_dict=True).items()):
        base = {**scope, "judge_version": version, "dimension": dimension, "compared_to": None}
        variants = sorted(part.get_column("variant").unique().to_list())
        if len(variants) > 1:
            rows += _slices(part, {**base, "variant": ALL_VARIANTS}, min_labels, slice_name)
        by_variant = part.partition_by("variant", as_dict=True)
        for variant in variants:
            rows += _slices(by_variant[(variant,)], {**base, "variant": variant}, min_labels, slice_name)
        # paired differences: the same items answered by two variants, both judged; labelled when
        # people scored both answers (labels through the queue are not paired: queue rows are per answer)
        for a, b in combinations(variants, 2):
            both = by_variant[(a,)].join(by_variant[(b,)], on="item_id", suffix="_b")
            if both.height == 0:
                continue
            paired = both.select(
                "item_id", "topic",
                (pl.col("judge") - pl.col("judge_b")).alias("judge"),
                (pl.col("human") - pl.col("human_b")).alias("human"),
                (pl.col("queued") | pl.col("queued_b")).alias("queued"),
                pl.lit(None, pl.Float64).alias("inclusion_probability"),
                pl.lit(None, pl.String).alias("queue_judge"), pl.col("judge_version"))
            rows += _slices(paired, {**base, "variant": a, "compared_to": b}, min_labels, slice_name)
        log(f"ppi_estimates {scope['month']:%Y-%m} {scope['eval_set_version'] or 'month'} {version} {dimension}: "
            f"{part.height:,} judged item(s)")
    return rows


def store_estimates(con: duckdb.DuckDBPyConnection, start: date, rows: list[dict]) -> None:
    """Replace the month's rows (one transaction, retried on a lake's commit conflict)."""
    frame = pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)

    def write() -> None:
        con.execute("delete from ppi_estimates where month = $m", {"m": start})
        if frame.height:
            con.register("ppi_batch", frame.to_arrow())
            con.execute(f"insert into ppi_estimates ({', '.join(COLUMNS)}, computed_at) "  # noqa: S608  (constant columns)
                        f"select {', '.join(COLUMNS)}, now() from ppi_batch")
            con.unregister("ppi_batch")

    retrying(con, write, f"ppi_estimates {start:%Y-%m}")


_SCHEMA = {"month": pl.Date, "scope": pl.String, "eval_set_version": pl.String, "judge_version": pl.String, "method": pl.String, "variant": pl.String,
           "compared_to": pl.String, "dimension": pl.String, "slice_dimension": pl.String, "slice_value": pl.String,
           "n_labeled": pl.Int32, "n_unlabeled": pl.Int32, "estimate": pl.Float64, "ci_low": pl.Float64,
           "ci_high": pl.Float64, "power_lambda": pl.Float64, "classical_estimate": pl.Float64,
           "classical_ci_low": pl.Float64, "classical_ci_high": pl.Float64, "judge_estimate": pl.Float64,
           "judge_ci_low": pl.Float64, "judge_ci_high": pl.Float64, "effective_labels": pl.Float64,
           "labels_saved": pl.Float64, "queue_unlabelled": pl.Int32}


# ---- the label queue -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueSettings:
    budget: float = 100.0  # expected items to label a month; 0: no queue
    floor: float = 0.2  # the budget's share spread uniformly (every item keeps a chance)
    threshold: float = 3.0  # the decision threshold on the rubric's scale (e.g. 'acceptable')
    near: float = 0.5  # a score within this of the threshold counts as near it
    judge_version: str = ""  # the judge version to serve; '' picks the one that scored the most

    def check(self) -> None:
        """Raise ValueError naming the setting that cannot be used."""
        if not (math.isfinite(self.budget) and self.budget >= 0):
            raise ValueError(f"label queue budget must be 0 (no queue) or more items a month, got {self.budget!r}")
        if not (math.isfinite(self.floor) and 0 <= self.floor <= 1):
            raise ValueError(f"label queue floor must be a share of the budget in [0, 1], got {self.floor!r}")
        if not (math.isfinite(self.threshold) and math.isfinite(self.near) and self.near >= 0):
            raise ValueError(f"label queue threshold and near must be finite (near >= 0), got "
                             f"{self.threshold!r} and {self.near!r}")


@dataclass
class Queue:
    month: date
    judge_version: str | None
    pool: int  # items in the pool
    selected: int
    budget: float
    kept: bool  # an earlier draw was kept
    reasons: dict[str, int]  # items per reason
    files: list[Path]


def _error_scores(con: duckdb.DuckDBPyConnection, start: date, version: str, pool: pl.DataFrame,
                  settings: QueueSettings) -> tuple[pl.DataFrame, list[list[str]]]:
    learned = con.execute(statement("ppi/learned_agreement"), {"v": version, "start": start}).fetchall()
    overall = {d: 1 - a for d, t, a in learned if t is None}
    by_topic = {(d, t): 1 - a for d, t, a in learned if t is not None}
    flips = {i for (i,) in con.execute(statement("ppi/order_flips")).fetchall()}
    items = pool.group_by(["item_id", "variant"], maintain_order=True).agg(
        pl.col("dimension"), pl.col("judge"), pl.col("topic").first())
    scores, reasons = [], []
    for item_id, variant, dimensions, judged, topic in items.iter_rows():
        score, why = 0.0, []
        for d, s in zip(dimensions, judged):
            if (d, topic) in by_topic or d in overall:
                err = by_topic.get((d, topic), overall.get(d))
                score += err
                if err >= 0.5:
                    why.append(f"low_agreement:{d}")
            else:
                score += 1.0
                if "no_history" not in why:
                    why.append("no_history")
            if s is not None and abs(s - settings.threshold) <= settings.near:
                score += 0.5
                why.append(f"near_threshold:{d}")
        if item_id in flips:
            score += 1.0
            why.append("order_flip")
        scores.append(score)
        reasons.append(why or ["floor"])
    return items.select("item_id", "variant").with_columns(pl.Series("error_score", scores, pl.Float64)), reasons


def build_queue(con: duckdb.DuckDBPyConnection, start: date, end: date, settings: QueueSettings, out_dir: Path,
                *, redraw: bool = False) -> Queue:
    """Draw the month's label queue (or keep the one drawn before) and write the labelling files
    (a kept queue's files are written only when missing: someone may be filling them in)."""
    settings.check()
    existing = con.execute("select any_value(judge_version), count(*), count(*) filter (where selected), "
                           "any_value(budget) from label_queue where month = $m", {"m": start}).fetchone()
    if existing[1] and redraw:
        returned = con.execute("select count(distinct q.item_id) from label_queue q join human_labels l "
                               "on l.item_id = q.item_id and coalesce(l.variant, '') = q.variant "
                               "where q.month = $m and q.selected", {"m": start}).fetchone()[0]
        if returned:
            raise ValueError(f"label_queue {start:%Y-%m}: {returned} item(s) of the drawn queue have labels already; "
                             "drawing again would lose the probabilities they were drawn with (their estimates "
                             "would no longer be valid). Keep the queue, or remove those labels first")
    if existing[1] and not redraw:
        version, pool_n, selected_n, budget = existing
        reasons = dict(con.execute("select r, count(*) from (select unnest(reasons) as r from label_queue "
                                   "where month = $m) group by 1 order by 1", {"m": start}).fetchall())
        return Queue(start, version, pool_n, selected_n, budget, True, reasons,
                     _write_files(con, start, out_dir, overwrite=False))
    found = (settings.judge_version,) if settings.judge_version else \
        con.execute(statement("ppi/queue_judge"), {"start": start, "end": end}).fetchone()
    if found is None or settings.budget == 0:
        retrying(con, lambda: con.execute("delete from label_queue where month = $m", {"m": start}),
                 f"label_queue {start:%Y-%m}")
        return Queue(start, None, 0, 0, 0.0, False, {}, [])
    version = found[0]
    pool = con.execute(statement("ppi/queue_pool"), {"start": start, "end": end, "v": version}).pl()
    items, reasons = _error_scores(con, start, version, pool, settings)
    n = items.height
    budget = float(min(settings.budget, n))
    if n:
        pi = ppi.inclusion_probabilities(items.get_column("error_score").to_numpy(), budget, floor=settings.floor)
        # the draw is reproducible: the month and judge version seed it
        seed = int.from_bytes(hashlib.sha256(f"label_queue:{start}:{version}".encode()).digest()[:8], "big")
        selected = ppi.draw(pi, np.random.default_rng(seed))
    else:
        pi, selected = np.zeros(0), np.zeros(0, dtype=bool)
    frame = items.with_columns(pl.lit(start).alias("month"), pl.lit(version).alias("judge_version"),
                               pl.Series("inclusion_probability", pi, pl.Float64),
                               pl.Series("selected", selected, pl.Boolean),
                               pl.Series("reasons", reasons, pl.List(pl.String)), pl.lit(budget).alias("budget"))

    def write() -> None:
        con.execute("delete from label_queue where month = $m", {"m": start})
        if frame.height:
            con.register("queue_batch", frame.to_arrow())
            con.execute("insert into label_queue (month, item_id, variant, judge_version, error_score, "
                        "inclusion_probability, selected, reasons, budget, created_at) "
                        "select month, item_id, variant, judge_version, error_score, inclusion_probability, "
                        "selected, reasons, budget, now() from queue_batch")
            con.unregister("queue_batch")

    retrying(con, write, f"label_queue {start:%Y-%m}")
    counts: dict[str, int] = {}
    for why in reasons:
        for r in why:
            counts[r.split(":")[0]] = counts.get(r.split(":")[0], 0) + 1
    return Queue(start, version, n, int(selected.sum()), budget, False, dict(sorted(counts.items())),
                 _write_files(con, start, out_dir, overwrite=True))


LABEL_FIELDS = ("kind", "item_id", "variant", "annotator_id", "dimension", "score", "labeled_at")


def _write_files(con: duckdb.DuckDBPyConnection, start: date, out_dir: Path, *, overwrite: bool) -> list[Path]:
    """label-queue-YYYY-MM.csv and .jsonl: one row per selected item and rubric dimension in the
    human_labels contract with the score, annotator and time left empty for the labelling tool,
    and the text to label beside them (query, response; the loader ignores extra columns).
    Without `overwrite`, an existing file is left as it is."""
    rows = con.execute(statement("ppi/queue_texts"), {"start": start}).fetchall()
    dimensions = [d for (d,) in con.execute("select distinct dimension from judge_scores j join label_queue q "
                                            "on q.item_id = j.item_id and q.judge_version = j.judge_version "
                                            "where q.month = $m order by 1", {"m": start}).fetchall()]
    out_dir.mkdir(parents=True, exist_ok=True)
    records = [{"kind": "pointwise", "item_id": item, "variant": variant, "annotator_id": "", "dimension": d,
                "score": "", "labeled_at": "", "inclusion_probability": round(p, 6), "reasons": why,
                "query": query, "response": response}
               for item, variant, p, why, query, response in rows for d in dimensions]
    base = out_dir / f"label-queue-{start:%Y-%m}"
    paths = [base.with_suffix(".csv"), base.with_suffix(".jsonl")]
    if not overwrite and all(p.exists() for p in paths):
        return paths
    fields = [*LABEL_FIELDS, "inclusion_probability", "reasons", "query", "response"]
    with paths[0].open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(records)
    with paths[1].open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return paths


def ppi_table(rows: list[dict], limit: int = 40) -> list[dict]:
    """A preview for the asset's metadata: the whole-month, single-variant rows."""
    def fmt(est, lo, hi):
        return None if est is None else f"{est:.2f} [{lo:.2f}, {hi:.2f}]"
    return [{"scope": r["eval_set_version"] or "month", "judge version": r["judge_version"], "method": r["method"],
             "variant": r["variant"],
             "dimension": r["dimension"], "labelled": r["n_labeled"], "judge only": fmt(r["judge_estimate"], r["judge_ci_low"], r["judge_ci_high"]),
             "humans only": fmt(r["classical_estimate"], r["classical_ci_low"], r["classical_ci_high"]),
             "prediction-powered": fmt(r["estimate"], r["ci_low"], r["ci_high"]),
             "labels saved": None if r["labels_saved"] is None else round(r["labels_saved"], 1)}
            for r in rows if r["slice_value"] is None and r["compared_to"] is None][:limit]


def ppi_summary(rows: list[dict]) -> dict:
    """A month's figures for the asset's metadata: rows, labels the judge saved (all variants
    together, whole month), rows per method and eval-set-version rows."""
    methods: dict[str, int] = {}
    for r in rows:
        methods[r["method"]] = methods.get(r["method"], 0) + 1
    return {"dagster/row_count": len(rows),
            "labels_saved": round(sum(r["labels_saved"] or 0 for r in rows if r["variant"] == ALL_VARIANTS
                                      and r["slice_value"] is None and r["compared_to"] is None
                                      and r["scope"] == "month"), 1),
            "methods": methods, "eval_set_version_rows": sum(r["scope"] == "eval_set_version" for r in rows)}
