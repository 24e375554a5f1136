"""Benchmark: judgments against a local OpenAI-compatible server (its own process), at several latencies.

For each latency profile (default: 200 ms fixed, and 1 s and 3 s with lognormal jitter, sigma
0.5, mean-preserving, seeded), one clean run on one event loop and one on a pool of worker
processes (JudgePool), each sized so that its ideal wall time is about --case-seconds. Then, at
the first profile, a run with 20% injected 429/5xx (all must complete), and the scaling runs:
the same profile at --scale times its size, on one loop. Every run is followed by a cached rerun
(zero model calls).

Per run it prints: judgments, wall time, judgments/s, efficiency = achieved throughput / ideal
throughput (concurrency / the mean latency the server actually served), the bound (the best
efficiency any client could reach with the same latencies in the same order at this
concurrency: greedy list scheduling, which loses the last wave's drain when latencies vary),
efficiency / bound (what the client itself loses), and CPU per call of the client (this process
plus the pool's workers) and of the test server. The server runs in its own process, like a
provider would; all share this machine's cores. Target (issue 4): efficiency at least 0.9.
The pool's start-up (paid once per process, started early by the judge assets) is printed
apart, and the efficiency with it included too.

    python bench/judge_fanout.py [--profiles 200 1000:0.5 3000:0.5] [--case-seconds 15] [--n N]
        [--concurrency 64] [--processes 1 2] [--scale 0.1 1 3] [--repeat 1] [--no-faults]

A profile is LATENCY_MS[:JITTER]; --n fixes the size of every case instead of --case-seconds.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from pipeline.judge.client import LLMSettings  # noqa: E402
from pipeline.judge.fanout import JudgeTask, judge_with_cache, shared_pool, task_key  # noqa: E402
from pipeline.judge.prompt import pointwise_messages  # noqa: E402
from pipeline.judge.rubric import load_rubric  # noqa: E402
from pipeline.warehouse import connect  # noqa: E402

FAULT_RATES = {"429": 0.1, "5xx": 0.1}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server(latency_ms: float, jitter: float, dist: str, rates: dict[str, float],
           seed: int) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "pipeline.judge.local_server", "--latency-ms", str(latency_ms), "--canned",
            "--jitter", str(jitter), "--jitter-dist", dist, "--seed", str(seed)]
    args += [a for fault, rate in rates.items() for a in ("--rate", f"{fault}={rate}")]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/v1"


def stop(proc: subprocess.Popen) -> dict:
    proc.stdin.close()
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    proc.wait()
    return out


def greedy_makespan(latencies_s: list[float], concurrency: int) -> float:
    """Wall time of `concurrency` slots taking the calls in this order, each as soon as a slot
    frees, at zero client cost: the best a client can do with these latencies."""
    slots = [0.0] * concurrency
    for latency in latencies_s:
        heapq.heapreplace(slots, slots[0] + latency)
    return max(slots)


@dataclass
class Row:
    profile: str
    mode: str
    judgments: int
    calls: int
    wall: float
    mean_latency: float  # seconds, as served
    ideal_wall: float  # judgments x mean latency / concurrency
    bound_wall: float
    client_cpu: float
    server_cpu: float
    statuses: dict
    retries: int
    rerun: tuple[int, int, float]  # cache hits, model calls, seconds
    startup: float = 0.0

    @property
    def efficiency(self) -> float:
        return self.ideal_wall / self.wall

    @property
    def bound(self) -> float:
        return self.ideal_wall / self.bound_wall


def make_tasks(n: int, label: str, rubric) -> list[JudgeTask]:
    tasks = []
    for i in range(n):
        question = {"role": "user", "content": f"[{label}] question {i}: how do I reverse a list?"}
        m = pointwise_messages(rubric, [question], f"Use `items[::-1]` ({i}).")
        tasks.append(JudgeTask(task_key("bench", m), "pointwise", m, {}))
    return tasks


def run_case(args, rubric, profile: tuple[float, float], n: int, processes: int, rates: dict[str, float],
             label: str) -> Row:
    latency_ms, jitter = profile
    tasks = make_tasks(n, label, rubric)
    pool = shared_pool(processes)
    startup = pool.wait_ready() if pool else 0.0
    client_pids = [w.pid for w in pool.workers] if pool else []
    proc, base = server(latency_ms, jitter, args.jitter_dist, rates, args.seed)
    settings = LLMSettings(model="openai/judge", api_base=base, api_key="local", concurrency=args.concurrency,
                           backoff_base_s=0.05, backoff_max_s=1.0)
    with tempfile.TemporaryDirectory() as tmp, connect(Path(tmp) / "w.duckdb") as con:
        server0, workers0 = cpu_seconds(proc.pid), sum(cpu_seconds(p) for p in client_pids)
        t0, cpu0 = time.perf_counter(), time.process_time()
        run = judge_with_cache(con, tasks, settings, rubric, "bench", Path(tmp) / "j.jsonl", processes=processes)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        client_cpu = cpu + sum(cpu_seconds(p) for p in client_pids) - workers0
        server_cpu = cpu_seconds(proc.pid) - server0
        t1 = time.perf_counter()
        again = judge_with_cache(con, tasks, settings, rubric, "bench", Path(tmp) / "j.jsonl", processes=processes)
        rerun = (again.cache_hits, again.summary.calls, time.perf_counter() - t1)
    served = stop(proc)
    latencies = [x / 1000 for x in served.pop("latencies_ms")]
    served.pop("cpu_seconds")
    mean = statistics.fmean(latencies)
    statuses = {s: sum(r.status == s for r in run.results) for s in sorted({r.status for r in run.results})}
    name = f"{latency_ms:g} ms" + (f" ~{jitter:g}" if jitter else "")
    return Row(name, "one loop" if processes == 1 else f"pool of {processes}", n, sum(served.values()), wall, mean,
               n * mean / args.concurrency, greedy_makespan(latencies, args.concurrency), client_cpu, server_cpu,
               statuses, run.summary.retries, rerun, startup)


HEADER = (f"{'latency':<14} {'mode':<10} {'judgments':>9} {'calls':>6} {'wall s':>7} {'judg/s':>8} {'ideal/s':>8} "
          f"{'effic.':>7} {'bound':>6} {'eff/bound':>9} {'client CPU ms/call':>18} {'server':>7}")


def line(row: Row, concurrency: int) -> str:
    extra = (f"   with the pool's {row.startup:.2f} s start-up: {row.ideal_wall / (row.wall + row.startup):.3f}"
             if row.startup else "")
    return (f"{row.profile:<14} {row.mode:<10} {row.judgments:>9,} {row.calls:>6,} {row.wall:>7.2f} "
            f"{row.judgments / row.wall:>8.1f} {concurrency / row.mean_latency:>8.1f} {row.efficiency:>7.3f} "
            f"{row.bound:>6.3f} {row.efficiency / row.bound:>9.3f} {row.client_cpu / row.calls * 1000:>18.2f} "
            f"{row.server_cpu / row.calls * 1000:>7.2f}{extra}")


def parse_profile(text: str) -> tuple[float, float]:
    latency, _, jitter = text.partition(":")
    return float(latency), float(jitter or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["200", "1000:0.5", "3000:0.5"],
                        help="LATENCY_MS[:JITTER], the jitter a relative spread (see --jitter-dist)")
    parser.add_argument("--jitter-dist", choices=("lognormal", "uniform"), default="lognormal",
                        help="lognormal: mean-preserving, sigma JITTER; uniform: LATENCY x (1 +/- JITTER)")
    parser.add_argument("--case-seconds", type=float, default=15.0,
                        help="size each case so that its ideal wall time is this "
                             "(judgments = s x concurrency / latency)")
    parser.add_argument("--n", type=int, default=None, help="judgments per case, instead of --case-seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale", type=float, nargs="*", default=[0.1, 1, 3],
                        help="sizes of the scaling runs (one loop, first profile), as multiples of its case size")
    parser.add_argument("--repeat", type=int, default=1, help="run every latency case this many times (noisy machines)")
    parser.add_argument("--no-faults", action="store_true", help="skip the 20%% 429/5xx run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    profiles = [parse_profile(p) for p in args.profiles]
    sizes = {p: args.n or max(2 * max(args.processes), round(args.case_seconds * args.concurrency / (p[0] / 1000)))
             for p in profiles}
    rubric = load_rubric()
    print(f"concurrency {args.concurrency}, jitter {args.jitter_dist}, {os.cpu_count()} cores; "
          + ", ".join(f"{p[0]:g} ms: {n:,} judgments" for p, n in sizes.items()))
    from pipeline.judge.client import litellm as configured_litellm

    t0 = time.perf_counter()
    configured_litellm()  # imported by both modes (the estimate before the calls), once per process
    print(f"litellm import in this process: {time.perf_counter() - t0:.2f} s")
    for processes in args.processes:
        if processes > 1:
            print(f"pool of {processes} worker processes: start-up {shared_pool(processes).wait_ready():.2f} s "
                  "(once per process)")
    # what is left of litellm's lazy set-up (the HTTP path on the first real call; a pool worker
    # warms up on a mock call while it starts) is paid here, once per mode, outside the table
    for processes in args.processes:
        warm = run_case(args, rubric, (0.0, 0.0), 32, processes, {}, "warm-up")
        print(f"{warm.mode}: first fan-out (32 judgments, no latency) {warm.wall:.2f} s, "
              f"{warm.client_cpu:.2f} s client CPU (once per process)")

    rows: list[Row] = []
    print("\n" + HEADER)
    for profile in profiles:
        for _ in range(args.repeat):
            for processes in args.processes:  # interleaved, so the machine's noise hits both alike
                rows.append(run_case(args, rubric, profile, sizes[profile], processes, {}, "clean"))
                print(line(rows[-1], args.concurrency), flush=True)
    clean = list(rows)

    if not args.no_faults:
        print(f"\nwith 20% 429/5xx at {args.profiles[0]} ms (every judgment must complete; Retry-After is honoured, "
              "so the clean figure is out of reach)")
        print(HEADER)
        for processes in args.processes:
            row = run_case(args, rubric, profiles[0], sizes[profiles[0]], processes, FAULT_RATES, "faults")
            rows.append(row)
            print(f"{line(row, args.concurrency)}   statuses {row.statuses}, retries {row.retries:,}", flush=True)

    scaling: list[tuple[float, Row]] = []
    if args.scale:
        base = sizes[profiles[0]]
        print(f"\nscaling at {args.profiles[0]} ms, one loop ({base:,} judgments = 1x)")
        print(HEADER + "  size   wall/judgment vs 1x")
        for factor in args.scale:
            n = max(2, round(base * factor))
            reuse = next((r for r in clean if factor == 1 and r.profile == clean[0].profile
                          and r.mode == "one loop"), None)
            row = reuse or run_case(args, rubric, profiles[0], n, 1, {}, "scale")
            scaling.append((factor, row))
        unit = next((r.wall / r.judgments for f, r in scaling if f == 1), scaling[0][1].wall / scaling[0][1].judgments)
        for factor, row in scaling:
            print(f"{line(row, args.concurrency)}  {factor:>4g}x   {row.wall / row.judgments / unit:.3f}")
        if len(scaling) > 1:
            fit = statistics.linear_regression([r.calls for _, r in scaling], [r.client_cpu for _, r in scaling])
            print(f"client CPU = {fit.intercept:.2f} s per fan-out + {fit.slope * 1000:.2f} ms per call "
                  "(least squares over the sizes)")

    print()
    for i, pool in enumerate(clean):  # end to end: the pool's start-up is paid once, its gain per judgment
        if not pool.startup:
            continue
        loop = next(r for r in reversed(clean[:i]) if r.profile == pool.profile and r.mode == "one loop")
        gain = (loop.wall - pool.wall) / pool.judgments
        verdict = (f"wins once a process judges more than {pool.startup / gain:,.0f} judgments" if gain > 0
                   else "never wins")
        print(f"{pool.profile}: the {pool.mode} saves {gain * 1000:+.2f} ms per judgment against its "
              f"{pool.startup:.2f} s start-up: {verdict}")

    bad = [r for r in rows + [r for _, r in scaling] if set(r.statuses) != {"ok"} or r.rerun[1] != 0
           or r.rerun[0] != r.judgments]
    print(f"\ncached reruns: {'all' if not bad else 'NOT all'} complete from the cache with 0 model calls "
          f"(slowest {max(r.rerun[2] for r in rows):.2f} s)")
    if bad:
        for r in bad:
            print(f"  {r.profile} {r.mode}: statuses {r.statuses}, rerun hits {r.rerun[0]:,}, model calls {r.rerun[1]}")


if __name__ == "__main__":
    main()
