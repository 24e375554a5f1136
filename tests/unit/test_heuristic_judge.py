"""The embedded baseline judge, called through litellm like any provider."""

from __future__ import annotations

import asyncio

import litellm

from pipeline.judge_prompt import pairwise_messages, parse_pairwise, parse_pointwise, pointwise_messages
from pipeline.llm_client import LLMClient, LLMSettings  # registers evalfunnel/heuristic
from pipeline.rubric import load_rubric

RUBRIC = load_rubric()
CONV = [{"role": "user", "content": "How do I reverse a list in Python?"}]
GOOD = ("Use slicing, `items[::-1]`, which returns a new reversed list; `items.reverse()` reverses in place.\n\n"
        "1. Copy: `items[::-1]`\n2. In place: `items.reverse()`")
BAD = "Definitely: use `items.sort(reverse=True)` and so on and so on"


def judge(messages):
    response = litellm.completion(model="evalfunnel/heuristic", messages=messages)
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
