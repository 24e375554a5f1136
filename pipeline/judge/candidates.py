"""candidate_scores: the judge's rubric scores of every candidate response, with its slice.

Each response in candidate_responses is judged pointwise (cached: the same prompt under the
same judge version is never judged twice). An item's topic comes from the eval set when the
item is an eval item, else from the `metadata.topic` of its row in the source's
candidate_responses/ files. The release gate and the forecasts read these scores.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge.fanout import CachedRun, JudgeTask, judge_with_cache, task_key
from pipeline.judge.prompt import TEMPLATE_VERSION, pointwise_messages
from pipeline.judge.rubric import Rubric, judge_version
from pipeline.records import iter_records
from pipeline.warehouse import statement

SCHEMA = {"judge_version": pl.String, "item_id": pl.String, "variant": pl.String, "dimension": pl.String,
          "score": pl.Int32, "status": pl.String, "rationale": pl.String, "topic": pl.String}


def source_topics(folder: Path) -> dict[str, str]:
    """item_id -> metadata.topic from the candidate files (rows without one are skipped)."""
    topics = {}
    for _, _, doc, _ in iter_records(folder):
        meta = (doc or {}).get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("topic"), str) and isinstance(doc.get("item_id"), str):
            topics[doc["item_id"]] = meta["topic"]
    return topics


def score_candidates(con: duckdb.DuckDBPyConnection, settings, rubric: Rubric, journal: Path, topics: dict[str, str], *,
                     max_cost_usd: float | None = None, progress=None) -> tuple[str, CachedRun]:
    """Judge every candidate response and replace this judge version's candidate_scores."""
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    eval_topics = dict(con.execute(statement("judge/eval_item_topics")).fetchall())
    tasks = []
    for item_id, variant, messages, response in con.execute(statement("judge/candidate_items")).fetchall():
        prompt = pointwise_messages(rubric, [m for m in messages if m["role"] != "system"], response)
        tasks.append(JudgeTask(task_key(version, prompt), "pointwise", prompt, {"item_id": item_id, "variant": variant}))
    run = judge_with_cache(con, tasks, settings, rubric, version, journal, max_cost_usd=max_cost_usd, progress=progress)
    rows = []
    for r in run.results:
        item = r.task.meta["item_id"]
        for d in rubric.names:
            rows.append({"judge_version": version, "item_id": item, "variant": r.task.meta["variant"], "dimension": d,
                         "score": r.verdict.scores[d] if r.verdict else None, "status": r.status,
                         "rationale": r.verdict.rationale if r.verdict else r.error,
                         "topic": eval_topics.get(item) or topics.get(item)})
    con.execute("delete from candidate_scores where judge_version = $v", {"v": version})
    con.register("candidate_score_rows", pl.DataFrame(rows, schema=SCHEMA).to_arrow())
    con.execute("insert into candidate_scores select *, now() from candidate_score_rows")
    con.unregister("candidate_score_rows")
    return version, run


def load_scores(con: duckdb.DuckDBPyConnection, version: str) -> dict[tuple[str, str], dict[str, int]]:
    """{(variant, dimension): {item: score}} of one judge version."""
    scores: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for variant, dimension, item, score in con.execute(
            "select variant, dimension, item_id, score from candidate_scores where judge_version = $v and score is not null",
            {"v": version}).fetchall():
        scores[(variant, dimension)][item] = score
    return scores


def mean_scores_table(con: duckdb.DuckDBPyConnection, version: str) -> str:
    """Mean score per variant and dimension, as a markdown table (for the asset's metadata)."""
    rows = con.execute("select variant, dimension, round(avg(score), 2) from candidate_scores where judge_version = $v "
                       "group by all order by all", {"v": version}).fetchall()
    if not rows:
        return "none"
    dims = sorted({d for _, d, _ in rows})
    by_variant: dict[str, dict[str, float]] = defaultdict(dict)
    for variant, dimension, mean in rows:
        by_variant[variant][dimension] = mean
    return "\n".join(["| variant | " + " | ".join(dims) + " |", "|---|" + "---|" * len(dims)]
                     + [f"| {v} | " + " | ".join(f"{m.get(d, '')}" for d in dims) + " |" for v, m in by_variant.items()])
