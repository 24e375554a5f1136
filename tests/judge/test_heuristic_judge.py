"""The embedded baseline judge, called through litellm like any provider."""

from __future__ import annotations

import asyncio

from pipeline.judge.client import LLMClient, LLMSettings
from pipeline.judge.client import litellm as configured_litellm
from pipeline.judge.prompt import (
    pairwise_messages,
    parse_pairwise,
    parse_pointwise,
    pointwise_messages,
)
from pipeline.judge.rubric import load_rubric

RUBRIC = load_rubric()
CONV = [{"role": "user", "content": "How do I reverse a list in Python?"}]
GOOD = ("Use slicing, `items[::-1]`, which returns a new reversed list; `items.reverse()` reverses in place.\n\n"
        "1. Copy: `items[::-1]`\n2. In place: `items.reverse()`")
BAD = "Definitely: use `items.sort(reverse=True)` and so on and so on"


def judge(messages):
    # litellm as the client configures it on first use (evalfunnel/heuristic registered)
    response = configured_litellm().completion(model="evalfunnel/heuristic", messages=messages)
    return response.choices[0].message.content


def test_scores_follow_visible_quality_and_are_deterministic():
    good = parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, GOOD)), RUBRIC)
    bad = parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, BAD)), RUBRIC)
    assert good == parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, GOOD)), RUBRIC)
    assert sum(good.scores.values()) > sum(bad.scores.values()) + 4
    assert bad.scores["calibration"] <= 2 and good.rationale.startswith("heuristic baseline")
    empty = parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, "")), RUBRIC)
    assert set(empty.scores.values()) == {1}


def test_expected_behaviour_decides_correctness():
    expected = "Gives the correct answer: use `[::-1]`"
    meets = parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, GOOD, expected)), RUBRIC)
    misses = parse_pointwise(judge(pointwise_messages(RUBRIC, CONV, BAD, expected)), RUBRIC)
    assert meets.scores["correctness"] == 5 and misses.scores["correctness"] <= 2


def test_pairwise_prefers_the_better_answer_in_both_orders():
    assert parse_pairwise(judge(pairwise_messages(RUBRIC, CONV, GOOD, BAD))).winner == "a"
    assert parse_pairwise(judge(pairwise_messages(RUBRIC, CONV, BAD, GOOD))).winner == "b"


def test_async_path_is_free():
    client = LLMClient(LLMSettings(model="evalfunnel/heuristic"))
    out = asyncio.run(client.complete(pointwise_messages(RUBRIC, CONV, GOOD)))
    assert out.error is None and out.cost_usd == 0.0 and out.input_tokens > 0


def test_token_bucket_spaces_requests_beyond_the_burst():
    import time

    from pipeline.judge.client import TokenBucket

    async def run() -> float:
        bucket = TokenBucket(per_minute=600)  # 10 per second, a burst of 600
        await bucket.acquire(600)
        t0 = time.perf_counter()
        for _ in range(5):
            await bucket.acquire(1)
        return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    # five more at 10/s: about half a second (the upper bound only catches a wait of seconds;
    # a loaded machine stretches it)
    assert 0.4 <= elapsed < 3.0


def test_requests_per_minute_limit_the_client():
    import time

    client = LLMClient(LLMSettings(model="evalfunnel/heuristic", requests_per_minute=1200))  # 20/s after a burst of 1200
    messages = pointwise_messages(RUBRIC, CONV, GOOD)

    async def run() -> float:
        await client.rpm.acquire(1200)  # spend the burst
        t0 = time.perf_counter()
        await asyncio.gather(*(client.complete(messages) for _ in range(10)))
        return time.perf_counter() - t0

    assert asyncio.run(run()) >= 0.4  # ten calls at 20/s


def test_the_local_judge_is_estimated_free_not_unknown():
    """The estimate prices the local judge at $0 with a known price (make demo said 'cost unknown')."""
    from pipeline.judge.fanout import JudgeTask, estimate, task_key

    messages = pointwise_messages(RUBRIC, CONV, GOOD)
    e = estimate([JudgeTask(task_key("v", messages), "pointwise", messages, {})],
                 LLMClient(LLMSettings(model="evalfunnel/heuristic")))
    assert e.price_known and e.cost_usd == 0.0 and e.tasks == 1 and e.input_tokens > 0
