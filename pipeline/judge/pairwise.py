"""Candidates against a baseline: responses, pairwise judging in both orders, ratings, Pareto.

- candidate_responses: imported from the source's candidate_responses/ (item_id, variant,
  response, optional latency/cost/tokens, and the prompt as messages or query); bad rows are
  rejected with file, line and reason.
- pairwise_judgments: every candidate against the baseline on every item it shares with it,
  shown in both orders (position ab: the candidate first), through the judge cache; the judge's
  a/b is mapped back to variants. Imported pairwise verdicts land here too (origin imported).
- variant_ratings: Bradley-Terry (pipeline.judge.ratings), plain and length-controlled, per judge.
- pareto_frontier: rating against cost per request and latency; a variant is on the frontier
  when no other is at least as good on all three and better on one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge import ratings
from pipeline.judge.client import LLMSettings
from pipeline.judge.fanout import CachedRun, JudgeTask, judge_with_cache, task_key
from pipeline.judge.prompt import TEMPLATE_VERSION, pairwise_messages
from pipeline.judge.rubric import Rubric, judge_version
from pipeline.records import iter_records
from pipeline.warehouse import insert_rows, statement

_CANDIDATE_SCHEMA = {"item_id": pl.String, "variant": pl.String,
                     "messages": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
                     "response": pl.String, "latency_ms": pl.Float64, "cost_usd": pl.Float64,
                     "input_tokens": pl.Int64, "output_tokens": pl.Int64}
_WHERE_FROM = {"source_file": pl.String, "source_line": pl.Int64}


def _number(doc: dict, key: str, integer: bool = False) -> float | int | None:
    """An optional non-negative number (CSV cells arrive as text)."""
    value = doc.get(key)
    if value in (None, ""):
        return None
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not math.isfinite(number) or number < 0 or (integer and number != int(number)):
        raise ValueError(f"{key}: must be a non-negative {'integer' if integer else 'number'}, got {value!r}")
    return int(number) if integer else number


def _messages(doc: dict) -> list[dict] | None:
    messages = doc.get("messages")
    if isinstance(messages, str) and messages.strip():
        try:
            messages = json.loads(messages)  # a CSV cell holds the list as JSON text
        except json.JSONDecodeError:
            raise ValueError("messages: not valid JSON") from None
    if messages not in (None, "", []):
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages):
            raise ValueError("messages: must be a list of {role, content}")
        return [{"role": m["role"], "content": m["content"]} for m in messages]
    query = doc.get("query")
    return [{"role": "user", "content": query}] if isinstance(query, str) and query else None


def load_candidates(folder: Path) -> tuple[pl.DataFrame, list[tuple[str, int, str]]]:
    """Candidate responses from the files under `folder` (JSONL, CSV or Parquet, optionally
    gzipped), and the rejected rows. `messages` is null where the row gives no prompt: it is
    taken from the eval set or the regression set when the rows are stored."""
    rows, rejects = [], []
    for name, line, doc, problem in iter_records(folder):
        if problem:
            rejects.append((name, line, problem))
            continue
        try:
            for key in ("item_id", "variant"):
                if not isinstance(doc.get(key), str) or not doc[key]:
                    raise ValueError(f"{key}: missing or not a string")
            if not isinstance(doc.get("response"), str):
                raise ValueError("response: missing or not a string")
            rows.append({"item_id": doc["item_id"], "variant": doc["variant"], "messages": _messages(doc),
                         "response": doc["response"], "latency_ms": _number(doc, "latency_ms"),
                         "cost_usd": _number(doc, "cost_usd"), "input_tokens": _number(doc, "input_tokens", True),
                         "output_tokens": _number(doc, "output_tokens", True), "source_file": name, "source_line": line})
        except (ValueError, TypeError) as exc:
            rejects.append((name, line, str(exc)))
    return pl.DataFrame(rows, schema=_CANDIDATE_SCHEMA | _WHERE_FROM), rejects


def store_candidates(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> list[tuple[str, int, str]]:
    """Replace the imported candidate responses; a row without a prompt takes its item's from the
    eval set or the regression set. Returns the rows rejected because their item has neither."""
    missing = frame.filter(pl.col("messages").is_null())
    if missing.height:
        known = {item: messages for item, messages in con.execute(statement("judge/known_prompts")).fetchall()}
        prompts = pl.Series([known.get(i) for i in missing.get_column("item_id")], dtype=_CANDIDATE_SCHEMA["messages"])
        frame = pl.concat([frame.filter(pl.col("messages").is_not_null()),
                           missing.with_columns(prompts.alias("messages"))])
    unknown = frame.filter(pl.col("messages").is_null())
    rejects = [(f, n, f"messages/query: required, since item {i!r} is neither an eval-set item nor a regression case")
               for i, f, n in unknown.select("item_id", "source_file", "source_line").iter_rows()]
    kept = frame.filter(pl.col("messages").is_not_null()).drop(list(_WHERE_FROM))
    con.execute("delete from candidate_responses where origin = 'imported'")
    con.register("candidates", kept.with_columns(pl.lit("imported").alias("origin")).to_arrow())
    con.execute("insert into candidate_responses select *, now() from candidates")
    con.unregister("candidates")
    return rejects


def pairwise_tasks(candidates: pl.DataFrame, baseline: str, rubric: Rubric, version: str,
                   round_robin: bool = False) -> list[JudgeTask]:
    """Both orders of (candidate, baseline) on every item the two share; with `round_robin`,
    of every pair of variants (more comparisons, and ratings that do not lean on one anchor)."""
    by_item: dict[str, dict[str, dict]] = {}
    for row in candidates.iter_rows(named=True):
        by_item.setdefault(row["item_id"], {})[row["variant"]] = row
    tasks = []
    for item_id, variants in sorted(by_item.items()):
        if baseline not in variants:
            continue
        conversation = [m for m in variants[baseline]["messages"] if m["role"] != "system"]
        names = sorted(variants)
        pairs = ([(a, b) for i, a in enumerate(names) for b in names[i + 1:]] if round_robin
                 else [(name, baseline) for name in names if name != baseline])
        for name_a, name_b in pairs:
            first_row, second_row = variants[name_a], variants[name_b]
            for position, (first, second) in (("ab", (first_row, second_row)), ("ba", (second_row, first_row))):
                prompt = pairwise_messages(rubric, conversation, first["response"], second["response"])
                tasks.append(JudgeTask(task_key(version, prompt), "pairwise", prompt,
                                       {"item_id": item_id, "variant_a": name_a, "variant_b": name_b, "position": position,
                                        "length_a": len(first_row["response"]), "length_b": len(second_row["response"])}))
    return tasks


def variant_winner(shown_winner: str, position: str) -> str:
    """The judge's a/b (in the shown order) as a/b of (variant_a, variant_b)."""
    if shown_winner == "tie" or position == "ab":
        return shown_winner
    return {"a": "b", "b": "a"}[shown_winner]


@dataclass
class PairwiseRun:
    judge_version: str
    tasks: int
    run: CachedRun | None
    ratings: list[ratings.Rating] = field(default_factory=list)
    consistency: ratings.Consistency | None = None
    frontier: list[dict] = field(default_factory=list)
    rejects: list[tuple[str, int, str]] = field(default_factory=list)


def judge_pairs(con: duckdb.DuckDBPyConnection, settings: LLMSettings, rubric: Rubric, baseline: str, journal: Path,
                *, resamples: int = 500, seed: int = 0, max_cost_usd: float | None = None, round_robin: bool = False,
                progress=None) -> PairwiseRun:
    """Judge, store, rate and place every candidate against `baseline` (see the module docstring)."""
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    candidates = pl.from_arrow(con.sql("select item_id, variant, messages, response from candidate_responses").to_arrow_table())
    tasks = pairwise_tasks(candidates, baseline, rubric, version, round_robin)
    result = PairwiseRun(version, len(tasks), None)
    if not tasks:
        return result
    result.run = judge_with_cache(con, tasks, settings, rubric, version, journal, max_cost_usd=max_cost_usd, progress=progress)
    rows, verdicts = [], []
    for r in result.run.results:
        m = r.task.meta
        winner = variant_winner(r.verdict.winner, m["position"]) if r.verdict else None
        rows.append((m["item_id"], m["variant_a"], m["variant_b"], m["position"], winner, settings.model, version, r.status,
                     r.verdict.rationale if r.verdict else None, r.error, r.cost_usd))
        if winner:
            verdicts.append(ratings.Verdict(m["item_id"], m["variant_a"], m["variant_b"], m["position"], winner,
                                            m["length_a"], m["length_b"]))
    con.execute("delete from pairwise_judgments where judge_version = $v and origin = 'pipeline'", {"v": version})
    insert_rows(con, "insert into pairwise_judgments values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pipeline', now())", rows)
    comparisons, result.consistency = ratings.combine_orders(verdicts)
    if comparisons:
        for controlled in (False, True):
            result.ratings += ratings.bradley_terry(comparisons, baseline, length_controlled=controlled,
                                                    resamples=resamples, seed=seed)
    con.execute("delete from variant_ratings where judge_version = $v", {"v": version})
    insert_rows(con, "insert into variant_ratings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [(version, r.variant, r.baseline, r.rating, r.ci_low, r.ci_high, r.win_rate_vs_baseline,
                      r.n_comparisons, r.length_controlled, result.consistency.rate if result.consistency.pairs else None)
                     for r in result.ratings])
    costs = {v: (c, p50, p95) for v, c, p50, p95 in con.execute(statement("judge/variant_costs")).fetchall()}
    result.frontier = pareto([r for r in result.ratings if not r.length_controlled], costs)
    con.execute("delete from pareto_frontier where judge_version = $v", {"v": version})
    insert_rows(con, "insert into pareto_frontier values (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [(version, f["variant"], f["quality"], f["ci_low"], f["ci_high"], f["cost_per_request"],
                      f["latency_p50_ms"], f["latency_p95_ms"], f["on_frontier"]) for f in result.frontier])
    return result


def pareto(rated: list[ratings.Rating], costs: dict[str, tuple]) -> list[dict]:
    """Quality (higher better) against cost and p95 latency (lower better); a variant is on the
    frontier when no other variant is at least as good on all three and strictly better on one.
    A variant without cost or latency figures is compared on quality alone."""
    points = []
    for r in rated:
        cost, p50, p95 = costs.get(r.variant, (None, None, None))
        points.append({"variant": r.variant, "quality": r.rating, "ci_low": r.ci_low, "ci_high": r.ci_high,
                       "cost_per_request": cost, "latency_p50_ms": p50, "latency_p95_ms": p95})

    def worse_or_equal(x: float | None, y: float | None, lower_is_better: bool) -> bool:
        if x is None or y is None:
            return True
        return x >= y if lower_is_better else x <= y

    for p in points:
        p["on_frontier"] = not any(
            q is not p
            and worse_or_equal(p["quality"], q["quality"], False)
            and worse_or_equal(p["cost_per_request"], q["cost_per_request"], True)
            and worse_or_equal(p["latency_p95_ms"], q["latency_p95_ms"], True)
            and (q["quality"] > p["quality"]
                 or (q["cost_per_request"] or 0) < (p["cost_per_request"] or 0)
                 or (q["latency_p95_ms"] or 0) < (p["latency_p95_ms"] or 0))
            for q in points)
    return sorted(points, key=lambda p: -p["quality"])
