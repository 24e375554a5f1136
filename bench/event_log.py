"""Benchmark: the Dagster instance's event log, Dagster's SQLite storage against evalfunnel's.

The instance's dagster.yaml names pipeline.dagster_storage.SqliteStorage: Dagster's SQLite
storage whose event log keeps one SQLAlchemy engine per database file instead of building one
per operation. A backfill stores a few events per partition and asset (planned, materialized,
check evaluations), so this runs a two-asset daily job over N days in one run (as `evalfunnel
backfill` does) on a fresh instance of each kind, alternating, and prints each side's best wall
time, the events stored, and the ratio. Both must store the same events. No target: the figure
says what an event costs.

    python bench/event_log.py [--days 184] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the events are stored all the same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=184)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import dagster as dg

    from pipeline import environment

    days = dg.DailyPartitionsDefinition(start_date="2026-01-01",
                                        end_date=str(date(2026, 1, 1) + timedelta(days=args.days)))

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def first(context):  # noqa: ANN001, ANN202  (Dagster resolves annotations: none here, dg is local)
        return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run(), deps=[first])
    def second(context):  # noqa: ANN001, ANN202
        return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})

    job = dg.Definitions(assets=[first, second]).resolve_implicit_global_asset_job_def()
    keys = days.get_partition_keys()
    ours = environment.instance_config(lake=False)
    if b"base_dir:\n        env: DAGSTER_HOME" not in ours:
        raise SystemExit("dagster.yaml no longer names its base_dir as this script expects")
    configs = {"Dagster's SQLite storage": b"storage:\n  sqlite:\n    base_dir: {base}\n",
               "evalfunnel's (dagster.yaml)": ours.replace(b"base_dir:\n        env: DAGSTER_HOME", b"base_dir: {base}")}
    best: dict[str, float] = {}
    events: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, config in configs.items():
            with tempfile.TemporaryDirectory(prefix="event-log-") as tmp:
                (Path(tmp) / "dagster.yaml").write_bytes(config.replace(b"{base}", tmp.encode()))
                instance = dg.DagsterInstance.from_config(tmp)
                t0 = time.perf_counter()
                result = job.execute_in_process(instance=instance, raise_on_error=True, run_config=QUIET, tags={
                    "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
                events[name] = len(instance.all_logs(result.run_id))
                instance.dispose()
    print(f"a two-asset daily job over {args.days} days in one run, best of {args.repeats}:")
    for name, seconds in best.items():
        print(f"  {name:30s} {seconds:6.2f} s  {events[name]} events  {1000 * seconds / events[name]:.2f} ms an event")
    stock, ours = best.values()
    print(f"  evalfunnel's / Dagster's: {ours / stock:.2f}x")
    if len(set(events.values())) != 1:
        raise SystemExit(f"the two stored different numbers of events: {events}")


if __name__ == "__main__":
    main()
