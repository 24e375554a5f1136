"""The judge cache: a rerun makes no model call; a killed run restarts without loss or re-billing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from pipeline.judge.client import LLMSettings
from pipeline.judge.fanout import JudgeTask, judge_with_cache, task_key
from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.judge.prompt import pointwise_messages
from pipeline.judge.rubric import load_rubric
from pipeline.warehouse import connect

RUBRIC = load_rubric()


def tasks(n: int) -> list[JudgeTask]:
    out = []
    for i in range(n):
        messages = pointwise_messages(RUBRIC, [{"role": "user", "content": f"Question {i}: how do I reverse a list?"}],
                                      "Use `items[::-1]`.")
        out.append(JudgeTask(task_key("jv", messages), "pointwise", messages, {"item_id": f"i{i}"}))
    return out


def test_a_second_run_makes_zero_model_calls(tmp_path):
    with LocalLLMServer(Faults(schedule=("malformed",))) as server:
        settings = LLMSettings(model="openai/judge", api_base=server.base_url, api_key="local", concurrency=4)
        with connect(tmp_path / "w.duckdb") as con:
            first = judge_with_cache(con, tasks(12), settings, RUBRIC, "jv", tmp_path / "journal.jsonl")
            calls = server.total_calls
            second = judge_with_cache(con, tasks(12), settings, RUBRIC, "jv", tmp_path / "journal.jsonl")
            rows = con.execute("select count(*), count(distinct cache_key) from judge_cache").fetchone()
    assert first.cache_hits == 0 and calls == 24  # each with its repair
    assert second.cache_hits == 12 and server.total_calls == calls  # nothing called again
    assert [r.verdict for r in first.results] == [r.verdict for r in second.results]
    assert rows == (12, 12) and not (tmp_path / "journal.jsonl").exists()


def test_a_killed_run_restarts_without_losing_or_rebilling(tmp_path):
    script = tmp_path / "judge_run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from tests.judge.test_judge_cache import tasks, RUBRIC
        from pipeline.judge.fanout import judge_with_cache
        from pipeline.judge.client import LLMSettings
        from pipeline.warehouse import connect
        settings = LLMSettings(model="openai/judge", api_base=sys.argv[1], api_key="local", concurrency=4)
        with connect({str(tmp_path / "w.duckdb")!r}) as con:
            run = judge_with_cache(con, tasks(60), settings, RUBRIC, "jv", __import__("pathlib").Path({str(tmp_path / "j.jsonl")!r}))
        print(run.cache_hits, run.recovered, len(run.results))
    """))
    with LocalLLMServer(Faults(latency_ms=100)) as server:
        victim = subprocess.Popen([sys.executable, str(script), server.base_url], stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while server.total_calls < 24 and time.time() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        calls_before_kill = server.total_calls
        restart = subprocess.run([sys.executable, str(script), server.base_url], capture_output=True, text=True, timeout=120)
        assert restart.returncode == 0, restart.stderr[-2000:]
        cache_hits, recovered, results = map(int, restart.stdout.split())
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        rows, keys = con.execute("select count(*), count(distinct cache_key) from judge_cache").fetchone()
    assert results == 60 and rows == keys == 60  # nothing lost, nothing twice
    # what finished before the kill came back from the journal and counts as cached
    assert recovered >= 20 and cache_hits >= recovered
    # the restart called exactly the tasks not cached: nothing finished is billed twice ...
    assert server.total_calls - calls_before_kill == 60 - cache_hits
    # ... and in all, at most the calls in flight when the process died (concurrency 4) came twice
    assert server.total_calls <= 60 + 4


def test_a_prompt_asked_twice_is_judged_once_and_answers_both(tmp_path):
    twice = tasks(3)
    twins = [JudgeTask(t.key, t.kind, t.messages, {"item_id": t.meta["item_id"] + "-twin"}) for t in twice]
    with LocalLLMServer(Faults()) as server:
        settings = LLMSettings(model="openai/judge", api_base=server.base_url, api_key="local", concurrency=4)
        with connect(tmp_path / "w.duckdb") as con:
            run = judge_with_cache(con, twice + twins, settings, RUBRIC, "jv", tmp_path / "j.jsonl")
    assert server.total_calls == 3 and len(run.results) == 6
    assert [r.task.meta["item_id"] for r in run.results] == ["i0", "i1", "i2", "i0-twin", "i1-twin", "i2-twin"]
    assert run.results[0].verdict == run.results[3].verdict


def test_a_dry_run_estimates_and_calls_nothing(tmp_path):
    with LocalLLMServer(Faults()) as server:
        settings = LLMSettings(model="openai/judge", api_base=server.base_url, api_key="local", concurrency=4,
                               input_price_per_mtok=2.0, output_price_per_mtok=8.0)
        announced = []
        with connect(tmp_path / "w.duckdb") as con:
            dry = judge_with_cache(con, tasks(10), settings, RUBRIC, "jv", tmp_path / "j.jsonl", dry_run=True,
                                   announce=announced.append)
            assert server.total_calls == 0 and dry.results == [] and dry.dry_run
            real = judge_with_cache(con, tasks(10), settings, RUBRIC, "jv", tmp_path / "j.jsonl")
    assert announced == [dry.estimate] and dry.estimate.tasks == 10 and dry.estimate.cost_usd > 0
    assert server.total_calls == 10 and real.summary.cost_usd > 0
    # the estimate is of the right size: within a factor of 3 of what was billed
    assert real.summary.cost_usd / 3 < dry.estimate.cost_usd < real.summary.cost_usd * 3


def test_a_worker_pool_judges_every_task_once_and_hands_back_its_own_task(tmp_path):
    # two warm worker processes, each with its own event loop; 10% of calls answer 5xx once
    with LocalLLMServer(Faults(rates={"5xx": 0.1}, seed=3)) as server:
        settings = LLMSettings(model="openai/judge", api_base=server.base_url, api_key="local", concurrency=8,
                               backoff_base_s=0.01, backoff_max_s=0.05)
        work = tasks(40)
        with connect(tmp_path / "w.duckdb") as con:
            run = judge_with_cache(con, work, settings, RUBRIC, "jv", tmp_path / "journal.jsonl", processes=2)
            rows = con.execute("select count(*), count(distinct cache_key) from judge_cache").fetchone()
            again = judge_with_cache(con, work, settings, RUBRIC, "jv", tmp_path / "journal.jsonl", processes=2)
        ok_calls = server.calls["ok"]
    assert [r.task.meta["item_id"] for r in run.results] == [t.meta["item_id"] for t in work]
    assert all(r.task.messages == t.messages for r, t in zip(run.results, work))
    assert run.summary.by_status == {"ok": 40} and ok_calls == 40  # every task answered once, retries bounded
    assert run.summary.retries == server.calls["5xx"] > 0
    assert rows == (40, 40) and again.cache_hits == 40 and again.summary.calls == 0
