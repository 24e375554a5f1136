"""What the judge's checks measure: parse failures, length bias, self-preference."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import yaml

from pipeline.warehouse import statement

MAX_PARSE_FAILURE_RATE = 0.02
_FAMILIES = (("gpt", r"gpt|o1|o3|o4|chatgpt"), ("claude", r"claude"), ("gemini", r"gemini|palm"),
             ("llama", r"llama"), ("mistral", r"mistral|mixtral|codestral"), ("qwen", r"qwen"),
             ("deepseek", r"deepseek"), ("command", r"command|cohere"))


def model_family(model: str) -> str:
    """`openai/gpt-4o-2024-08-06` -> gpt; `anthropic/claude-3-5-sonnet` -> claude; else the name."""
    name = model.split("/")[-1].lower()
    return next((family for family, pattern in _FAMILIES if re.search(pattern, name)), name.split("-")[0])


def candidate_models(source_root: Path) -> dict[str, str]:
    """Candidate name -> litellm model, from the source's candidates.yaml (empty when absent)."""
    path = source_root / "candidates.yaml"
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text()) or {}
    entries = doc.get("candidates", doc) if isinstance(doc, dict) else doc
    if isinstance(entries, dict):
        entries = [{"name": k, **(v or {})} for k, v in entries.items()]
    return {c["name"]: c["model"] for c in entries or [] if isinstance(c, dict) and c.get("name") and c.get("model")}


def self_preference(judge_model: str, candidates: dict[str, str]) -> list[str]:
    """Candidates whose model family is the judge's: the judge may favour its own family."""
    family = model_family(judge_model)
    return sorted(name for name, model in candidates.items() if model_family(model) == family)


def parse_failure_rate(con: duckdb.DuckDBPyConnection, judge_version: str, dimension: str) -> tuple[float, dict[str, int]]:
    counts = dict(con.execute(statement("judge/status_counts"), {"judge_version": judge_version,
                                                                   "dimension": dimension}).fetchall())
    answered = counts.get("ok", 0) + counts.get("parse_failed", 0)
    return (counts.get("parse_failed", 0) / answered if answered else 0.0), counts


def call_failure_rate(counts: dict[str, int]) -> float:
    """The share of calls that got no answer at all (a wrong model string, an endpoint that is
    down): they are not parse failures, and a judge that never answers must not look healthy."""
    called = counts.get("ok", 0) + counts.get("parse_failed", 0) + counts.get("failed", 0)
    return counts.get("failed", 0) / called if called else 0.0


def length_bias(con: duckdb.DuckDBPyConnection, judge_version: str) -> dict[str, float]:
    """Spearman correlation of score with response length, per dimension (positive: longer scores higher)."""
    from scipy.stats import spearmanr
    by_dim: dict[str, tuple[list[int], list[int]]] = {}
    for dim, score, chars in con.execute(statement("judge/score_lengths"), {"judge_version": judge_version}).fetchall():
        if chars is not None:
            scores, lengths = by_dim.setdefault(dim, ([], []))
            scores.append(score)
            lengths.append(chars)
    out = {}
    for dim, (scores, lengths) in sorted(by_dim.items()):
        if len(set(scores)) > 1 and len(set(lengths)) > 1:
            out[dim] = round(float(spearmanr(scores, lengths).statistic), 4)
    return out
