"""The local server's latency jitter, which the fan-out benchmark uses for provider-like latencies."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from pipeline.judge.client import LLMClient, LLMSettings
from pipeline.judge.fanout import JudgeTask, judge_all, task_key
from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.judge.prompt import pointwise_messages
from pipeline.judge.rubric import load_rubric


def draws(faults: Faults, n: int) -> list[float]:
    server = LocalLLMServer(faults)  # not started: the draws need no socket
    return [server._latency_ms() for _ in range(n)]


@pytest.mark.parametrize("dist", ["uniform", "lognormal"])
def test_jitter_keeps_the_mean_and_is_seeded(dist):
    values = draws(Faults(latency_ms=1000, jitter=0.5, jitter_dist=dist, seed=3), 20_000)
    assert statistics.fmean(values) == pytest.approx(1000, rel=0.02)
    assert statistics.pstdev(values) > 250  # uniform +/-50%: 289; lognormal sigma 0.5: 533
    assert values == draws(Faults(latency_ms=1000, jitter=0.5, jitter_dist=dist, seed=3), 20_000)
    assert values != draws(Faults(latency_ms=1000, jitter=0.5, jitter_dist=dist, seed=4), 20_000)
    if dist == "uniform":
        assert 500 <= min(values) and max(values) <= 1500
    else:  # right-skewed, like a provider's
        assert statistics.median(values) < statistics.fmean(values) and min(values) > 0


def test_without_jitter_every_request_gets_the_latency():
    assert set(draws(Faults(latency_ms=200), 100)) == {200}
    with pytest.raises(ValueError, match="uniform or lognormal"):
        draws(Faults(latency_ms=200, jitter=0.5, jitter_dist="normal"), 1)


def test_the_server_sleeps_each_request_its_drawn_latency():
    rubric = load_rubric()
    tasks = []
    for i in range(12):
        messages = pointwise_messages(rubric, [{"role": "user", "content": f"question {i}"}], f"answer {i}")
        tasks.append(JudgeTask(task_key("v1", messages), "pointwise", messages, {}))
    with LocalLLMServer(Faults(latency_ms=150, jitter=0.6, jitter_dist="uniform", canned=True)) as server:
        client = LLMClient(LLMSettings(model="openai/judge", api_base=server.base_url, api_key="local", concurrency=12))
        results: list = []
        t0 = time.perf_counter()
        asyncio.run(judge_all(tasks, client, rubric, results.extend))
        wall = time.perf_counter() - t0
    assert len(results) == 12 and {r.status for r in results} == {"ok"}
    assert len(server.latencies_ms) == 12 and len(set(server.latencies_ms)) == 12
    assert all(60 <= x <= 240 for x in server.latencies_ms)
    # all in flight at once: the run lasts at least the longest drawn latency
    assert wall >= max(server.latencies_ms) / 1000
    assert sorted(r.latency_ms for r in results)[-1] >= max(server.latencies_ms)
