"""judge_scores: the pipeline's judge on eval-set items and experiment samples, plus judgments
imported from the source.

One row per (item, judge version, dimension). Pipeline judgments go through the cache
(pipeline.judge.fanout.judge_with_cache); a failed or unparseable item has one row per dimension
with an empty score and its status and error. Imported judgments (the source's judgments/
folder) are validated like the pipeline's own: a score outside 1-5, an unknown dimension or a
missing field rejects the row with its file, line and reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge.client import LLMSettings
from pipeline.judge.fanout import CachedRun, JudgeTask, judge_with_cache, task_key
from pipeline.judge.prompt import TEMPLATE_VERSION, pointwise_messages
from pipeline.judge.rubric import Rubric, judge_version
from pipeline.records import iter_records, parse_pair, parse_score, parse_time
from pipeline.warehouse import statement

_ROW_SCHEMA = {"item_id": pl.String, "variant": pl.String, "source": pl.String, "judge_model": pl.String,
               "rubric_version": pl.String, "judge_version": pl.String, "dimension": pl.String, "score": pl.Int32,
               "rationale": pl.String, "status": pl.String, "error": pl.String, "latency_ms": pl.Float64,
               "tokens": pl.Int64, "cost_usd": pl.Float64}


@dataclass
class ScoreRun:
    judge_version: str
    items: int
    run: CachedRun | None
    dimension_means: dict[str, float] = field(default_factory=dict)
    imported: int = 0
    imported_pairwise: int = 0
    import_rejects: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return Counter(r.status for r in self.run.results) if self.run else Counter()


def _write(con: duckdb.DuckDBPyConnection, rows: list[dict], version: str, source: str) -> None:
    con.execute(statement("judge/replace_scores"), {"judge_version": version, "source": source})
    if rows:
        con.register("score_rows", pl.DataFrame(rows, schema=_ROW_SCHEMA).to_arrow())
        con.execute(statement("judge/insert_scores"))
        con.unregister("score_rows")


def score_items(con: duckdb.DuckDBPyConnection, settings: LLMSettings, rubric: Rubric, journal: Path, *,
                max_cost_usd: float | None = None, processes: int = 1, dry_run: bool = False, progress=None,
                announce=None) -> ScoreRun:
    """Judge every eval-set item, experiment sample and human-labelled logged response (source
    eval_set / experiment_sample / human_labelled)."""
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    tasks = []
    for source, query in (("eval_set", "judge/eval_items"), ("experiment_sample", "judge/sample_items"),
                          ("human_labelled", "judge/labelled_items")):
        for row in con.execute(statement(query)).fetchall():
            item_id, messages, response = row[:3]
            variant = row[3] if len(row) > 3 else None
            conversation = [m for m in messages if m["role"] != "system"]
            prompt = pointwise_messages(rubric, conversation, response)
            tasks.append(JudgeTask(task_key(version, prompt), "pointwise", prompt,
                                   {"item_id": item_id, "source": source, "variant": variant}))
    run = judge_with_cache(con, tasks, settings, rubric, version, journal, max_cost_usd=max_cost_usd,
                           processes=processes, dry_run=dry_run, progress=progress, announce=announce)
    if dry_run:
        return ScoreRun(version, len(tasks), run)
    rows: dict[str, list[dict]] = {"eval_set": [], "experiment_sample": [], "human_labelled": []}
    for r in run.results:
        meta = r.task.meta
        for dim in rubric.names:
            rows[meta["source"]].append({
                "item_id": meta["item_id"], "variant": meta["variant"], "source": meta["source"],
                "judge_model": settings.model, "rubric_version": rubric.version, "judge_version": version,
                "dimension": dim, "score": r.verdict.scores[dim] if r.verdict else None,
                "rationale": r.verdict.rationale if r.verdict else None, "status": r.status, "error": r.error,
                "latency_ms": r.latency_ms, "tokens": r.input_tokens + r.output_tokens, "cost_usd": r.cost_usd})
    for source, source_rows in rows.items():
        _write(con, source_rows, version, source)
    means = {d: m for d, m, _ in con.execute(statement("judge/dimension_means"),
                                             {"judge_version": version, "source": "eval_set"}).fetchall()}
    return ScoreRun(version, len(tasks), run, means)


IMPORT_FIELDS = ("item_id", "judge_model", "rubric_version")


def _imported(doc: dict, rubric: Rubric) -> dict:
    """One imported judgment validated like a human label (pipeline.calibration.human_labels), with
    judge_model and rubric_version in place of annotator_id and judged_at for labeled_at."""
    missing = [f for f in IMPORT_FIELDS if doc.get(f) in (None, "")]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    kind = doc.get("kind") or "pointwise"
    row = {"kind": kind, "item_id": str(doc["item_id"]), "judge_model": str(doc["judge_model"]),
           "rubric_version": str(doc["rubric_version"]), "judged_at": parse_time(doc.get("judged_at"), "judged_at"),
           "version": f"imported:{doc['judge_model']}:{doc['rubric_version']}"}
    if kind == "pointwise":
        if doc.get("dimension") not in rubric.dimensions:
            raise ValueError(f"unknown dimension {doc.get('dimension')!r}")
        row.update(variant=doc.get("variant") or None, dimension=doc["dimension"], score=parse_score(doc.get("score"), rubric))
    elif kind == "pairwise":
        position = doc.get("position")
        if position not in ("ab", "ba"):
            raise ValueError(f"position must be ab or ba, got {position!r}")
        a, b, winner = parse_pair(doc)
        row.update(variant_a=a, variant_b=b, winner=winner,
                   position=position if a == doc["variant_a"] else {"ab": "ba", "ba": "ab"}[position])
    else:
        raise ValueError(f"kind must be pointwise or pairwise, got {kind!r}")
    return row


def import_judgments(con: duckdb.DuckDBPyConnection, folder: Path, rubric: Rubric) -> tuple[int, int, list[tuple[str, int, str]]]:
    """Judgments from `folder` (JSONL or CSV, recursively), one judge version per (judge_model,
    rubric_version): pointwise into judge_scores (source `imported`), pairwise into
    pairwise_judgments (origin `imported`); created_at is the judgment's judged_at."""
    points, pairs, rejects = [], [], []
    for name, line, doc, problem in iter_records(folder):
        if problem is None:
            try:
                row = _imported(doc, rubric)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            rejects.append((name, line, problem))
        elif row["kind"] == "pointwise":
            points.append({"item_id": row["item_id"], "variant": row["variant"], "source": "imported",
                           "judge_model": row["judge_model"], "rubric_version": row["rubric_version"],
                           "judge_version": row["version"], "dimension": row["dimension"], "score": row["score"],
                           "rationale": doc.get("rationale"), "status": "imported", "error": None, "latency_ms": None,
                           "tokens": None, "cost_usd": None, "judged_at": row["judged_at"]})
        else:
            pairs.append((row["item_id"], row["variant_a"], row["variant_b"], row["position"], row["winner"],
                          row["judge_model"], row["version"], "imported", doc.get("rationale"), None, None, "imported",
                          row["judged_at"]))
    con.execute("delete from judge_scores where source = 'imported'")
    con.execute("delete from pairwise_judgments where origin = 'imported'")
    con.execute("delete from judgment_rejects")
    if points:
        con.register("score_rows", pl.DataFrame(points, schema={**_ROW_SCHEMA, "judged_at": pl.Datetime("us", "UTC")}).to_arrow())
        con.execute(statement("judge/insert_imported_scores"))
        con.unregister("score_rows")
    if pairs:
        con.executemany("insert into pairwise_judgments values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", pairs)
    if rejects:
        con.executemany("insert into judgment_rejects values (?, ?, ?, now())", rejects)
    return len(points), len(pairs), rejects
