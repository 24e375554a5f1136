"""What the judge fan-out works on and hands back: a task (one prompt, keyed for the cache) and
its result. Its own module so the fan-out and the cache both import it without importing each
other."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pipeline.judge.prompt import Verdict


@dataclass(frozen=True)
class JudgeTask:
    key: str  # cache key: judge version + exact prompt (see task_key)
    kind: str  # pointwise or pairwise
    messages: list[dict]
    meta: dict = field(default_factory=dict)  # item_id, variant, source, position ... carried through


def task_key(judge_version: str, messages: list[dict]) -> str:
    """The cache key: the same judge on the same prompt (conversation and response) is judged once."""
    payload = json.dumps([judge_version, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class JudgeResult:
    task: JudgeTask
    status: str  # ok, parse_failed, failed, skipped_budget
    verdict: Verdict | None
    raw: str | None
    error: str | None
    attempts: int
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
