"""Benchmark: six months of daily ingest and cleaning on a DuckLake, with 1 and 2 parallel workers (issue 17).

The path a user runs: `evalfunnel backfill daily_ingest` (ingest, the contract check,
clean_logs, the PII residue check, through Dagster) in fresh processes, on generated logs
(cached under bench/out/), each configuration on a fresh warehouse measured in this run:
- embedded: one backfill over the six months on the embedded DuckDB file (the reference);
- lake, 1 worker: the same backfill on a DuckLake (catalog in a PostgreSQL cluster this script
  starts from Debian's packages, Parquet data in a local folder);
- lake, 2 workers: two backfills at once, three months each, from two homes (two people, or two
  machines, sharing one lake), on the same kind of fresh lake.
Prints wall times, the speed-up of 2 workers over 1 on the lake (target >= 1.7x on 2 cores) and
the lake's 1-worker time as a ratio of the embedded file's (target <= 1.3x), and checks that all
three leave the same raw_logs and clean_logs (row counts and checksums).

Two ways to give the workers the machine's 2 cores, both run:
- shared: every process sees both cores (DuckDB's and Polars' threads, clean_logs' two scrub
  threads): one worker already uses ~1.4 cores, so a second has little left to take;
- one core per worker: each backfill is pinned to its own core (taskset; DuckDB and Polars told
  one thread), as two one-core machines sharing the lake would be; the 1-worker and embedded
  runs are pinned to one core too, so each ratio compares like with like.

Each round runs the three on fresh warehouses; with --repeats (default 2) the rounds alternate
and the best time of each configuration is reported (this 2-core VM's timings vary ~10% between
runs), with every round's figures printed.

    python bench/scale_out.py [--interactions 240000] [--modes shared,pinned] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
SALT = "0123456789abcdef" * 4


def _source(interactions: int) -> tuple[Path, date, date]:
    out = HERE / "out" / f"scale-out-{interactions}"
    if not (out / "gold" / "truth.json").exists():
        subprocess.run([sys.executable, "-m", "pipeline.cli", "demo-data", "--out", str(out), "--months", "6",
                        "--interactions", str(interactions)], check=True, cwd=HERE.parent)
    truth = json.loads((out / "gold" / "truth.json").read_text())
    return out, date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])


def _env(extra: dict[str, str], start: date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update({"EVALFUNNEL_PII_SALT": SALT, "EVALFUNNEL_RAW_RETENTION_DAYS": "0", "EVALFUNNEL_START_DATE": str(start),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(HERE.parent)})
    env.update(extra)
    return env


def _prepare(target_env: dict[str, str], home: Path) -> None:
    """The home as an earlier `evalfunnel run` left it: the warehouse's tables (backfill needs
    them) and the Dagster instance's storage (made once per home, ~0.6 s on one core)."""
    code = ("import sys; from pathlib import Path; from pipeline import environment, warehouse\n"
            "home = environment.prepare(Path(sys.argv[1]))\n"
            "with warehouse.connect(home.warehouse): pass\n"
            "import dagster as dg; dg.DagsterInstance.get()")
    subprocess.run([sys.executable, "-c", code, str(home)], env=target_env, check=True, cwd=HERE.parent)


PINNED_ENV = {"EVALFUNNEL_DUCKDB_THREADS": "1", "POLARS_MAX_THREADS": "1", "EVALFUNNEL_CLEAN_WORKERS": "1"}


def _backfills(ranges: list[tuple[Path, date, date]], source: Path, env: dict[str, str], pinned: bool = False) -> float:
    t0 = time.perf_counter()
    procs = [subprocess.Popen((["taskset", "-c", str(core)] if pinned else [])
                              + [sys.executable, "-m", "pipeline.cli", "backfill", "daily_ingest", "--from", str(a),
                                 "--to", str(b), "--source", str(source), "--home", str(home)],
                              env={**env, **(PINNED_ENV if pinned else {})}, cwd=HERE.parent,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for core, (home, a, b) in enumerate(ranges)]
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"backfill failed:\n{out[-3000:]}")
    return time.perf_counter() - t0


def _checksums(env: dict[str, str], home: Path) -> dict:
    code = ("import json, sys; from pathlib import Path; from pipeline import warehouse; "
            "from pipeline.checksums import table_checksums\n"
            "with warehouse.connect(warehouse.location(Path(sys.argv[1])), read_only=True) as con:\n"
            "    c = table_checksums(con)\n"
            "print(json.dumps({t: c[t] for t in ('raw_logs', 'clean_logs', 'log_partitions', 'pii_replacements')}))")
    out = subprocess.run([sys.executable, "-c", code, str(home)], env=env, check=True, cwd=HERE.parent,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def _round(pinned: bool, source: Path, first: date, last: date, middle: date, pg, tmp: Path) -> tuple[dict, bool]:
    """One run of each configuration, each on a fresh warehouse: wall times, and whether the three
    left the same tables."""
    results, sums = {}, {}
    embedded = _env({}, first)
    _prepare(embedded, tmp / "embedded")
    results["embedded, 1 worker"] = _backfills([(tmp / "embedded", first, last)], source, embedded, pinned)
    sums["embedded"] = _checksums(embedded, tmp / "embedded")
    for workers in (1, 2):
        lake = _env({"EVALFUNNEL_WAREHOUSE": "ducklake:postgres:" + pg.libpq(pg.create_database()),
                     "EVALFUNNEL_LAKE_DATA": str(tmp / f"lake-{workers}")}, first)
        _prepare(lake, tmp / f"lake{workers}-a")
        if workers == 2:
            _prepare(lake, tmp / f"lake{workers}-b")
        ranges = ([(tmp / f"lake{workers}-a", first, last)] if workers == 1 else
                  [(tmp / f"lake{workers}-a", first, middle - timedelta(days=1)),
                   (tmp / f"lake{workers}-b", middle, last)])
        results[f"lake, {workers} worker{'s' * (workers > 1)}"] = _backfills(ranges, source, lake, pinned)
        sums[f"lake{workers}"] = _checksums(lake, tmp / f"lake{workers}-a")
    same = sums["embedded"] == sums["lake1"] == sums["lake2"]
    if not same:
        print("  the warehouses differ:", json.dumps(sums)[:2000])
    return results, same


def _mode(pinned: bool, source: Path, first: date, last: date, middle: date, repeats: int) -> bool:
    from tests.servers import postgres_cluster

    print("one core per worker (taskset, 1 DuckDB/Polars thread):" if pinned else "shared (every process sees both cores):")
    rounds, same = [], True
    for i in range(repeats):  # the configurations alternate, so a slow spell of the machine hits each
        with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp, postgres_cluster() as pg:
            results, same_here = _round(pinned, source, first, last, middle, pg, Path(tmp))
        same &= same_here
        rounds.append(results)
        if repeats > 1:
            print(f"  round {i + 1}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in results.items())
                  + f"; speed-up {results['lake, 1 worker'] / results['lake, 2 workers']:.2f}x,"
                  f" lake/embedded {results['lake, 1 worker'] / results['embedded, 1 worker']:.2f}x")
    best = {name: min(r[name] for r in rounds) for name in rounds[0]}
    label = f" (best of {repeats})" if repeats > 1 else ""
    for name, seconds in best.items():
        print(f"  {name:22s} {seconds:7.1f} s{label}")
    speedup = best["lake, 1 worker"] / best["lake, 2 workers"]
    ratio = best["lake, 1 worker"] / best["embedded, 1 worker"]
    print(f"  speed-up of 2 workers on the lake: {speedup:.2f}x (target >= 1.7x)")
    print(f"  lake, 1 worker / embedded file:    {ratio:.2f}x (target <= 1.3x)")
    print(f"  raw_logs, clean_logs, log_partitions, pii_replacements the same in all three, every round: {same}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=240_000)
    parser.add_argument("--modes", default="shared,pinned", help="shared, pinned or both (comma-separated)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds of the three configurations, alternating; the best time of each is reported")
    args = parser.parse_args()

    source, first, last = _source(args.interactions)
    # the two workers take three months each, as a team splitting a backfill would. The work is
    # mostly per day, not per record: splitting where half the interactions lie (traffic grows
    # over the months, so 100 days and 84) left the first worker ~2.5 s behind (24.3 s and
    # 21.8 s); three months each, 21.1 s and 21.9 s
    months = first.year * 12 + first.month - 1 + 3
    middle = date(months // 12, months % 12 + 1, 1)
    print(f"input: {args.interactions:,} interactions, {first}..{last} (six months); 2 workers split at {middle} "
          f"(three months each)")
    same = True
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if mode not in ("shared", "pinned"):
            raise SystemExit(f"unknown mode {mode!r}: shared or pinned")
        same &= _mode(mode == "pinned", source, first, last, middle, args.repeats)
    if not same:
        raise SystemExit("the warehouses differ")


if __name__ == "__main__":
    main()
