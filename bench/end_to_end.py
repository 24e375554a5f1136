"""Benchmark: the daily_ingest job as `evalfunnel run` runs it, against a bare DuckDB load (issue 15).

Generates one month of interactions (cached under bench/out/), then, each in a fresh process
measured in this run:
- bare: DuckDB `read_json` of the same log files into a table (the floor);
- evalfunnel: the `daily_ingest` job over every day of the month through Dagster, in one run on
  a fresh home, exactly as `evalfunnel run` starts it (the instance's dagster.yaml, the recorded
  partition start, the run's owner tags): ingest (raw_logs, log_rejects), the contract
  check (the GX suite evaluated in DuckDB), clean_logs and the `no_pii_residue` check included.
Prints the whole job's time as a ratio of the bare load, each step's share (Dagster's step
stats), the CPU time of each process and the peak RSS. Targets: at most 3x the bare load, peak RSS under 2 GB; the contract
check at most 20% of the ingest step, the residue check at most the cost of clean_logs.

    python bench/end_to_end.py [--interactions 300000] [--repeats 1]
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

HERE = Path(__file__).parent
CHILD = r"""
import json, os, resource, sys, time
from datetime import date
from pathlib import Path
mode, source, home = sys.argv[1:4]
truth = json.load(open(f"{source}/gold/truth.json"))
first, last = date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])
t0 = time.perf_counter()
out = {}
if mode == "bare":
    import duckdb
    files = sorted(str(p) for p in Path(source, "logs").rglob("*.jsonl*"))
    con = duckdb.connect(str(Path(home) / "bare.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    con.execute("create table t as select * from read_json($files, format = 'newline_delimited', ignore_errors = true)",
                {"files": files})
    out["records"] = con.execute("select count(*) from t").fetchone()[0]
    con.close()
else:
    from pipeline import environment
    h = environment.prepare(Path(home))
    os.environ[environment.SOURCE_VAR] = source
    environment.record_start_date(h, first.replace(day=1).isoformat())
    import dagster as dg
    from pipeline.definitions import defs
    from pipeline.jobs import partition_range, run_range
    job = next(j for j in defs.jobs if j.name == "daily_ingest")
    keys = partition_range(job, first, last)
    instance = dg.DagsterInstance.get()
    outcome = run_range(defs, "daily_ingest", keys[0], keys[1], instance)
    if not outcome.success:
        raise SystemExit(f"daily_ingest failed: {outcome.errors}")
    out["steps"] = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(outcome.run_id)
                    if s.end_time and s.start_time}
    from pipeline.warehouse import connect
    with connect(h.warehouse, read_only=True) as con:
        out["records"] = con.execute("select count(*) from raw_logs").fetchone()[0]
        out["clean"] = con.execute("select count(*) from clean_logs").fetchone()[0]
out["seconds"] = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
out["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole process, imports included
out["peak_rss_mb"] = usage.ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(mode: str, source: Path) -> dict:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "EVALFUNNEL_PII_SALT": "bench-salt",
           "EVALFUNNEL_RAW_RETENTION_DAYS": "0", "PYTHONPATH": str(HERE.parent)}
    with tempfile.TemporaryDirectory() as home:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(source), home], capture_output=True, text=True,
                              cwd=HERE.parent, env=env)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def source_for(interactions: int) -> Path:
    sys.path.insert(0, str(HERE.parent))
    from pipeline.demo.generator import GENERATOR_VERSION, DemoConfig, generate

    source = HERE / "out" / f"e2e-month-{interactions}-{GENERATOR_VERSION}"
    if not (source / "gold" / "truth.json").exists():
        print(f"generating one month of {interactions:,} interactions into {source} ...", flush=True)
        t0 = time.perf_counter()
        generate(DemoConfig(out=source, months=1, interactions=interactions, bad_inputs=False, log_format="jsonl"))
        print(f"  generated in {time.perf_counter() - t0:.0f}s", flush=True)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side; the best is reported")
    args = parser.parse_args()
    source = source_for(args.interactions)
    size_mb = sum(p.stat().st_size for p in (source / "logs").rglob("*") if p.is_file()) / 1e6
    results = {mode: min((measure(mode, source) for _ in range(args.repeats)), key=lambda r: r["seconds"])
               for mode in ("bare", "evalfunnel")}
    bare, ours = results["bare"], results["evalfunnel"]
    print(f"input: {bare['records']:,} records, {size_mb:,.0f} MB of JSONL, one month")
    print(f"bare DuckDB read_json load:      {bare['seconds']:7.1f} s  peak RSS {bare['peak_rss_mb']:,.0f} MB")
    print(f"daily_ingest through Dagster:    {ours['seconds']:7.1f} s  peak RSS {ours['peak_rss_mb']:,.0f} MB  "
          f"({ours['records']:,} raw_logs rows, {ours['clean']:,} clean_logs rows)")
    ratio = ours["seconds"] / bare["seconds"]
    print(f"time ratio daily_ingest / bare load: {ratio:.2f}x (target <= 3.0x); "
          f"peak RSS {ours['peak_rss_mb']:,.0f} MB (target < 2048 MB)")
    print(f"CPU (user + sys, whole process): bare {bare['cpu_seconds']:.1f} s, daily_ingest {ours['cpu_seconds']:.1f} s, "
          f"ratio {ours['cpu_seconds'] / bare['cpu_seconds']:.2f}x (steady on a busy machine, where wall time is not)")
    steps = ours["steps"]
    total = sum(steps.values()) or 1.0
    print("steps (Dagster step stats; share of the steps' total):")
    for key, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<40} {seconds:7.1f} s  {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
