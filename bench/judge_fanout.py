"""Benchmark: 5,000 judgments against a local OpenAI-compatible server (its own process).

Prints efficiency = (N x latency / concurrency) / wall time for: a clean run, a run with 20%
injected 429/5xx (all must complete), and a cached rerun (zero model calls), on one event loop
and on a pool of worker processes (JudgePool). The pool's start-up (about 2 s, paid once per
process, started early by the judge assets) is printed apart, and the efficiency with it
included too. The server runs in its own process, like a provider would; all share this
machine's cores. Target (issue 4): efficiency at least 0.9.

    python bench/judge_fanout.py [--n 5000] [--latency-ms 200] [--concurrency 64] [--processes 1 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from pipeline.judge.client import LLMSettings  # noqa: E402
from pipeline.judge.fanout import JudgeTask, judge_with_cache, shared_pool, task_key  # noqa: E402
from pipeline.judge.prompt import pointwise_messages  # noqa: E402
from pipeline.judge.rubric import load_rubric  # noqa: E402
from pipeline.warehouse import connect  # noqa: E402


def server(latency_ms: float, rates: dict[str, float]) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "pipeline.judge.local_server", "--latency-ms", str(latency_ms), "--canned"]
    args += [a for fault, rate in rates.items() for a in ("--rate", f"{fault}={rate}")]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/v1"


def stop(proc: subprocess.Popen) -> dict:
    proc.stdin.close()
    return json.loads(proc.stdout.read().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    ideal = args.n * args.latency_ms / 1000 / args.concurrency
    print(f"{args.n:,} judgments, {args.latency_ms:.0f} ms latency, concurrency {args.concurrency}: "
          f"ideal wall time {ideal:.1f} s")
    for processes in args.processes:
        startup = 0.0
        if processes > 1:
            startup = shared_pool(processes).wait_ready()
            print(f"-- pool of {processes} worker processes: start-up {startup:.2f} s (once per process)")
        else:
            print("-- one event loop")
        run_config(args, processes, ideal, startup)


def run_config(args, processes: int, ideal: float, startup: float) -> None:
    rubric = load_rubric()
    for label, rates in (("clean", {}), ("20% 429/5xx", {"429": 0.1, "5xx": 0.1})):
        tasks = []
        for i in range(args.n):
            m = pointwise_messages(rubric, [{"role": "user", "content": f"[{label}] question {i}: how do I reverse a list?"}],
                                   f"Use `items[::-1]` ({i}).")
            tasks.append(JudgeTask(task_key("bench", m), "pointwise", m, {}))
        proc, base = server(args.latency_ms, rates)
        settings = LLMSettings(model="openai/judge", api_base=base, api_key="local", concurrency=args.concurrency,
                               backoff_base_s=0.05, backoff_max_s=1.0)
        with tempfile.TemporaryDirectory() as tmp, connect(Path(tmp) / "w.duckdb") as con:
            t0, cpu0 = time.perf_counter(), time.process_time()
            run = judge_with_cache(con, tasks, settings, rubric, "bench", Path(tmp) / "j.jsonl", processes=processes)
            wall, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            t1 = time.perf_counter()
            again = judge_with_cache(con, tasks, settings, rubric, "bench", Path(tmp) / "j.jsonl", processes=processes)
            cached_wall = time.perf_counter() - t1
        calls = stop(proc)
        server_cpu = calls.pop("cpu_seconds")
        statuses = {s: sum(r.status == s for r in run.results) for s in {r.status for r in run.results}}
        with_startup = f" ({ideal / (wall + startup):.3f} counting the pool's start-up)" if startup else ""
        print(f"{label:<12} wall {wall:6.2f} s  efficiency {ideal / wall:.3f}{with_startup} (target >= 0.9)  "
              f"statuses {statuses}  server calls {sum(calls.values()):,} {calls}  retries {run.summary.retries:,}")
        if processes == 1:
            print(f"{'':<12} CPU per call: client {client_cpu / sum(calls.values()) * 1000:.2f} ms, test server "
                  f"{server_cpu / sum(calls.values()) * 1000:.2f} ms; {args.concurrency / args.latency_ms * 1000:.0f} calls/s "
                  "need that much CPU per second from this machine's cores")
        print(f"{'':<12} cached rerun: {again.cache_hits:,} cache hits, {again.summary.calls} model calls, {cached_wall:.2f} s")


if __name__ == "__main__":
    main()
