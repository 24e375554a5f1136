"""Benchmark: user_metrics + experiment_results over 10M assignment rows and 50M events (Parquet).

The floor is one bare DuckDB aggregation over the same files, measured in the same run: the
assignments joined to the events by user, counted and summed per experiment, variant and event.
Target (issue 5): the pipeline in at most 2x the floor. Peak RSS is printed.

    python bench/experiments.py [--assignments 10000000] [--events 50000000] [--users 2000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).parent.parent))

import duckdb  # noqa: E402

from pipeline.experiments.analysis import analyze, build_user_metrics, write_results  # noqa: E402
from pipeline.experiments.registry import load_experiments, load_metrics  # noqa: E402
from pipeline.privacy.anonymize import Anonymizer  # noqa: E402
from pipeline.warehouse import connect  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--users", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "source"
        t = time.perf_counter()
        generate(root, args.assignments, args.events, args.users)
        print(f"generated {args.assignments:,} assignments and {args.events:,} events "
              f"({args.users:,} users, {EXPERIMENTS} experiments) in {time.perf_counter() - t:.1f} s")

        con = duckdb.connect()
        t = time.perf_counter()
        floor_rows = con.execute(
            "select a.experiment_id, a.variant, e.event, count(*), sum(e.value) "
            "from read_parquet($a) a join read_parquet($e) e on a.user_id = e.user_id group by all",
            {"a": str(root / "assignments" / "*.parquet"), "e": str(root / "events" / "*.parquet")}).fetchall()
        floor = time.perf_counter() - t
        con.close()
        print(f"floor: one DuckDB join-aggregation over the same files {floor:.2f} s ({len(floor_rows)} groups)")

        metrics = load_metrics(root / "metrics.yaml")
        loaded = load_experiments(root / "experiments", metrics)
        with connect(Path(tmp) / "w.duckdb") as wh:
            t = time.perf_counter()
            run = build_user_metrics(wh, loaded.experiments, metrics, root, Anonymizer(b"bench-salt").hmac_pads())
            t_users = time.perf_counter() - t
            t = time.perf_counter()
            results, summaries = analyze(wh, loaded.experiments, metrics)
            write_results(wh, results, summaries)
            t_results = time.perf_counter() - t
        total = t_users + t_results
        print(f"user_metrics {t_users:.2f} s ({run.users:,} users, {run.rows:,} rows; steps {run.seconds}); experiment_results "
              f"{t_results:.2f} s ({len(results):,} rows)")
        print(f"ratio to floor {total / floor:.2f}x (target <= 2x); peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
