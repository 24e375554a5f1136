"""Benchmark: user_metrics + experiment_results over 10M assignment rows and 50M events (Parquet).

The floor is one bare DuckDB aggregation over the same files, measured in the same run: the
assignments joined to the events by user, counted and summed per experiment, variant and event.
The pipeline is what the user_metrics and experiment_analysis assets run: `build_user_metrics`,
`analyze` and `write_results` (pipeline/experiments/analysis.py) on a fresh warehouse with the
default 1 GB DuckDB memory limit, timed from the open warehouse (the imports, scipy.stats
included, and the schema are left out). Each side runs in a fresh process (the generator's and
the floor's memory do not count toward the pipeline's peak RSS); the source is generated once and
cached under bench/out/. Prints both times, their ratio, the CPU time of each process, the
pipeline's peak RSS and its steps; with --repeats, the sides alternate and the best of each
counts (every run is printed: the floor's own time varies by 1.5x on a shared machine). Target
(issue 15): at most 3x the floor, peak RSS under 2 GB.

    python bench/experiments.py [--assignments 10000000] [--events 50000000] [--users 2000000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).parent
EXPERIMENTS = 10
EVENTS = np.array(["purchase", "visit", "chat", "ticket"])
START = np.datetime64("2026-01-01T00:00:00", "s")
DAYS = 120
METRICS = {"metrics": {
    "purchases": {"kind": "count", "event": "purchase", "window_days": 14, "higher_is_better": True},
    "revenue": {"kind": "sum", "event": "purchase", "window_days": 14, "higher_is_better": True},
    "retained": {"kind": "binary", "event": "visit", "window_days": 14, "higher_is_better": True},
    "tickets_per_chat": {"kind": "ratio", "numerator": "ticket", "denominator": "chat", "window_days": 14,
                         "higher_is_better": False}}}

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, source, home = sys.argv[1:4]
out = {}
t0 = time.perf_counter()
if mode == "floor":
    import duckdb
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    out["groups"] = len(con.execute(
        "select a.experiment_id, a.variant, e.event, count(*), sum(e.value) "
        "from read_parquet($a) a join read_parquet($e) e on a.user_id = e.user_id group by all",
        {"a": f"{source}/assignments/*.parquet", "e": f"{source}/events/*.parquet"}).fetchall())
    con.close()
else:
    import scipy.stats  # noqa: F401  (analyze loads it lazily: ~2 s of import, left out like the others)

    from pipeline.experiments.analysis import analyze, build_user_metrics, write_results
    from pipeline.experiments.registry import load_experiments, load_metrics
    from pipeline.privacy.anonymize import Anonymizer
    from pipeline.warehouse import connect
    root = Path(source)
    metrics = load_metrics(root / "metrics.yaml")
    loaded = load_experiments(root / "experiments", metrics)
    with connect(Path(home) / "w.duckdb") as wh:
        t0 = time.perf_counter()  # imports, configuration and the warehouse's schema left out
        run = build_user_metrics(wh, loaded.experiments, metrics, root, Anonymizer(b"bench-salt").hmac_pads())
        out["user_metrics_seconds"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        results, summaries = analyze(wh, loaded.experiments, metrics)
        write_results(wh, results, summaries)
        out["results_seconds"] = time.perf_counter() - t1
    out.update(users=run.users, rows=run.rows, results=len(results), steps=run.seconds)
out["seconds"] = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
out["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole process, imports included
out["peak_rss_mb"] = usage.ru_maxrss / 1024
print(json.dumps(out))
"""


def generate(root: Path, n_assign: int, n_events: int, n_users: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for sub in ("experiments", "assignments", "events", "logs"):
        (root / sub).mkdir(parents=True)
    (root / "metrics.yaml").write_text(yaml.safe_dump(METRICS))
    per = n_assign // EXPERIMENTS
    for e in range(EXPERIMENTS):
        start = START + np.timedelta64(e * 7, "D")
        (root / "experiments" / f"e{e}.yaml").write_text(yaml.safe_dump({
            "experiment_id": f"e{e}", "start": str(start.astype("datetime64[D]")),
            "end": str((start + np.timedelta64(40, "D")).astype("datetime64[D]")), "control": "control",
            "variants": {"control": 0.5, "treatment": 0.5}, "primary_metrics": ["purchases", "retained"],
            "guardrail_metrics": [{"metric": "tickets_per_chat", "non_inferiority_margin": 0.02}],
            "secondary_metrics": ["revenue"], "minimum_detectable_effect": {"purchases": 0.05, "retained": 0.02},
            "sequential": e % 2 == 0}))
        users = rng.choice(n_users, per, replace=False)
        table = pa.table({
            "experiment_id": pa.array([f"e{e}"] * per),
            "user_id": pa.array(np.char.add("u", users.astype(str))),
            "variant": pa.array(np.where(rng.random(per) < 0.5, "control", "treatment")),
            "assigned_at": pa.array(start + rng.integers(0, 30 * 86400, per).astype("timedelta64[s]"),
                                    pa.timestamp("s", tz="UTC"))})
        pq.write_table(table, root / "assignments" / f"e{e}.parquet")
    chunk = 10_000_000
    for i, lo in enumerate(range(0, n_events, chunk)):
        n = min(chunk, n_events - lo)
        table = pa.table({
            "user_id": pa.array(np.char.add("u", rng.integers(0, n_users, n).astype(str))),
            "timestamp": pa.array(START + rng.integers(0, DAYS * 86400, n).astype("timedelta64[s]"),
                                  pa.timestamp("s", tz="UTC")),
            "event": pa.array(EVENTS[rng.integers(0, len(EVENTS), n)]),
            "value": pa.array(np.round(rng.exponential(20.0, n), 2))})
        pq.write_table(table, root / "events" / f"part-{i}.parquet")


def source_for(n_assign: int, n_events: int, n_users: int) -> Path:
    """The generated source, cached under bench/out/ (generated once per size)."""
    source = HERE / "out" / f"experiments-{n_assign}-{n_events}-{n_users}"
    if not (source / "done").exists():
        print(f"generating {n_assign:,} assignments and {n_events:,} events ({n_users:,} users, "
              f"{EXPERIMENTS} experiments) into {source} ...", flush=True)
        t0 = time.perf_counter()
        partial = source.with_name(source.name + ".partial")
        subprocess.run(["rm", "-rf", str(partial)], check=True)
        generate(partial, n_assign, n_events, n_users)
        (partial / "done").touch()
        partial.rename(source)
        print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return source


def measure(mode: str, source: Path) -> dict:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(HERE.parent)}
    with tempfile.TemporaryDirectory() as home:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(source), home], capture_output=True, text=True,
                              cwd=HERE.parent, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--users", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side, alternating; the best is reported")
    args = parser.parse_args()
    source = source_for(args.assignments, args.events, args.users)
    runs: dict[str, list[dict]] = {"floor": [], "pipeline": []}
    for i in range(args.repeats):
        for mode, done in runs.items():
            done.append(measure(mode, source))
        if args.repeats > 1:
            floor, ours = runs["floor"][-1], runs["pipeline"][-1]
            print(f"run {i + 1}: floor {floor['seconds']:.2f} s, pipeline {ours['seconds']:.2f} s, "
                  f"{ours['seconds'] / floor['seconds']:.2f}x, peak RSS {ours['peak_rss_mb']:,.0f} MB", flush=True)
    floor, ours = (min(r, key=lambda run: run["seconds"]) for r in runs.values())
    peak = max(run["peak_rss_mb"] for run in runs["pipeline"])
    best = " (best of each side)" if args.repeats > 1 else ""
    print(f"input: {args.assignments:,} assignment rows ({EXPERIMENTS} experiments), {args.events:,} events, "
          f"{args.users:,} users, Parquet")
    print(f"floor: one DuckDB join-aggregation  {floor['seconds']:7.2f} s  ({floor['groups']} groups)")
    print(f"pipeline:                           {ours['seconds']:7.2f} s  (user_metrics {ours['user_metrics_seconds']:.2f} s: "
          f"{ours['users']:,} users, {ours['rows']:,} rows; experiment_results {ours['results_seconds']:.2f} s: "
          f"{ours['results']:,} rows)")
    print(f"ratio to floor {ours['seconds'] / floor['seconds']:.2f}x{best} (target <= 3x); pipeline peak RSS "
          f"{peak:,.0f} MB (target < 2048 MB)")
    print(f"CPU (user + sys, whole process): floor {floor['cpu_seconds']:.1f} s, pipeline {ours['cpu_seconds']:.1f} s, "
          f"ratio {ours['cpu_seconds'] / floor['cpu_seconds']:.2f}x")
    print("user_metrics steps (seconds, summed over buckets; analysed_users and event_metrics run on two worker "
          "threads, beside the inserts):")
    for name, seconds in sorted(ours["steps"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
