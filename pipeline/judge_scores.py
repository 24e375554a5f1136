"""judge_scores: the pipeline's judge on eval-set items and experiment samples, plus judgments
imported from the source.

One row per (item, judge version, dimension). Pipeline judgments go through the cache
(pipeline.judging.judge_with_cache); a failed or unparseable item has one row per dimension
with an empty score and its status and error. Imported judgments (the source's judgments/
folder) are validated like the pipeline's own: a score outside 1-5, an unknown dimension or a
missing field rejects the row with its file, line and reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge_prompt import TEMPLATE_VERSION, pointwise_messages
from pipeline.judging import CachedRun, JudgeTask, judge_with_cache, task_key
from pipeline.llm_client import LLMSettings
from pipeline.rubric import Rubric, judge_version
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
    import_rejects: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return Counter(r.status for r in self.run.results) if self.run else Counter()


def _write(con: duckdb.DuckDBPyConnection, rows: list[dict], version: str, source: str) -> None:
    con.execute(statement("judging/replace_scores"), {"judge_version": version, "source": source})
    if rows:
        con.register("score_rows", pl.DataFrame(rows, schema=_ROW_SCHEMA).to_arrow())
        con.execute(statement("judging/insert_scores"))
        con.unregister("score_rows")


def score_items(con: duckdb.DuckDBPyConnection, settings: LLMSettings, rubric: Rubric, journal: Path, *,
                max_cost_usd: float | None = None, processes: int = 1, dry_run: bool = False, progress=None,
                announce=None) -> ScoreRun:
    """Judge every eval-set item and every experiment sample (source eval_set / experiment_sample)."""
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    tasks = []
    for source, query in (("eval_set", "judging/eval_items"), ("experiment_sample", "judging/sample_items")):
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
    rows: dict[str, list[dict]] = {"eval_set": [], "experiment_sample": []}
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
    means = {d: m for d, m, _ in con.execute(statement("judging/dimension_means"),
                                             {"judge_version": version, "source": "eval_set"}).fetchall()}
    return ScoreRun(version, len(tasks), run, means)


IMPORT_FIELDS = ("item_id", "judge_model", "rubric_version", "dimension", "score")


def import_judgments(con: duckdb.DuckDBPyConnection, folder: Path, rubric: Rubric) -> tuple[int, list[tuple[str, int, str]]]:
    """Pointwise judgments from `folder` (JSONL or CSV, recursively) into judge_scores as source
    `imported`, one judge version per (judge_model, rubric_version)."""
    rows, rejects = [], []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.suffix not in (".jsonl", ".csv"):
            continue
        records = (pl.read_csv(path, infer_schema=False).to_dicts() if path.suffix == ".csv"
                   else [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()])
        for n, rec in enumerate(records, 1):
            try:
                doc = json.loads(rec) if isinstance(rec, str) else rec
                if doc.get("kind", "pointwise") != "pointwise":
                    continue  # pairwise verdicts go to pairwise_judgments (a later stage)
                missing = [f for f in IMPORT_FIELDS if doc.get(f) in (None, "")]
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
                if doc["dimension"] not in rubric.dimensions:
                    raise ValueError(f"unknown dimension {doc['dimension']!r}")
                score = int(doc["score"]) if str(doc["score"]).lstrip("-").isdigit() else None
                if score is None or not rubric.low <= score <= rubric.high:
                    raise ValueError(f"score must be an integer from {rubric.low} to {rubric.high}, got {doc['score']!r}")
            except (json.JSONDecodeError, ValueError, AttributeError) as exc:
                rejects.append((str(path.relative_to(folder.parent)), n, str(exc) if not isinstance(exc, json.JSONDecodeError)
                                else "not valid JSON"))
                continue
            version = f"imported:{doc['judge_model']}:{doc['rubric_version']}"
            rows.append({"item_id": doc["item_id"], "variant": doc.get("variant"), "source": "imported",
                         "judge_model": doc["judge_model"], "rubric_version": doc["rubric_version"], "judge_version": version,
                         "dimension": doc["dimension"], "score": score, "rationale": doc.get("rationale"),
                         "status": "imported", "error": None, "latency_ms": None, "tokens": None, "cost_usd": None})
    con.execute("delete from judge_scores where source = 'imported'")
    con.execute("delete from judgment_rejects")
    if rows:
        con.register("score_rows", pl.DataFrame(rows, schema=_ROW_SCHEMA).to_arrow())
        con.execute(statement("judging/insert_scores"))
        con.unregister("score_rows")
    if rejects:
        con.executemany("insert into judgment_rejects values (?, ?, ?, now())", rejects)
    return len(rows), rejects
