"""The instance's SQLite storage: WAL databases commit without an fsync each, and Dagster's
connection-per-operation does not checkpoint the WAL at every close (pipeline/instance_storage)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from pipeline import dagster_storage, environment, instance_storage


def _engine(path: Path, wal: bool) -> sa.Engine:
    with sqlite3.connect(path) as con:
        con.execute("create table if not exists t (x)")
        con.execute(f"pragma journal_mode = {'wal' if wal else 'delete'}")
    return sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)  # as Dagster creates its storages


def _synchronous(engine: sa.Engine) -> int:
    with engine.connect() as con:
        return con.exec_driver_sql("pragma synchronous").scalar()


def test_wal_databases_get_normal_sync_and_others_keep_full(tmp_path):
    instance_storage.install()
    instance_storage.install()  # idempotent: one listener
    assert _synchronous(_engine(tmp_path / "wal.db", wal=True)) == 1  # NORMAL
    assert _synchronous(_engine(tmp_path / "journal.db", wal=False)) == 2  # FULL, untouched


def test_closing_dagsters_connection_does_not_checkpoint_the_wal(tmp_path):
    instance_storage.install()
    engine = _engine(tmp_path / "events.db", wal=True)
    for i in range(20):
        with engine.begin() as con:
            con.exec_driver_sql("insert into t values (?)", (i,))
    # the WAL is still there (an idle connection is held): the closes above did not checkpoint it
    assert (tmp_path / "events.db-wal").exists() and (tmp_path / "events.db-wal").stat().st_size > 0
    with sqlite3.connect(tmp_path / "events.db") as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 20


def test_held_connections_are_bounded(tmp_path):
    instance_storage.install()
    for i in range(instance_storage.KEEP_OPEN + 5):
        _synchronous(_engine(tmp_path / f"run-{i}.db", wal=True))
    assert len(instance_storage._keepers) <= instance_storage.KEEP_OPEN
    assert str(tmp_path / f"run-{instance_storage.KEEP_OPEN + 4}.db") in instance_storage._keepers


# ---- the instance's storage: pipeline.dagster_storage.SqliteStorage (dagster.yaml) ----------

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-08")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def days_asset(context) -> dg.MaterializeResult:  # noqa: ANN001  (Dagster reads the annotation)
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@dg.asset_check(asset=days_asset)
def days_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


JOB = dg.Definitions(assets=[days_asset], asset_checks=[days_check]).resolve_implicit_global_asset_job_def()


def _instance(home: Path, config: bytes) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_bytes(config)
    return dg.DagsterInstance.from_config(str(home))


def _backfill(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    keys = DAYS.get_partition_keys()
    return JOB.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": keys[0],
                                                           "dagster/asset_partition_range_end": keys[-1]})


STOCK = b"storage:\n  sqlite:\n    base_dir: {base}\n"


def _summary(instance: dg.DagsterInstance, run_id: str) -> dict:
    """What a run left in the instance: its events by type, materialized partitions, check results."""
    events: dict[str, int] = {}
    for record in instance.all_logs(run_id):
        if record.dagster_event:
            events[record.dagster_event.event_type_value] = events.get(record.dagster_event.event_type_value, 0) + 1
    key = dg.AssetKey("days_asset")
    checks = instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(key, "days_check"), limit=100)
    return {"events": events, "partitions": sorted(instance.get_materialized_partitions(key)),
            "checks": sorted(c.status.value for c in checks)}


def test_the_shipped_instance_uses_the_engine_keeping_event_log_and_stores_what_dagsters_does(tmp_path, monkeypatch):
    created: list[str] = []
    real = sqlalchemy.create_engine

    def counting(url, *args, **kwargs):
        created.append(str(url))
        return real(url, *args, **kwargs)

    ours = _instance(tmp_path / "ours", environment.instance_config(lake=False).replace(
        b"env: DAGSTER_HOME", str(tmp_path / "ours").encode()))
    assert isinstance(ours.event_log_storage, dagster_storage.EventLogStorage)
    monkeypatch.setattr(sqlalchemy, "create_engine", counting)
    result = _backfill(ours)
    assert result.success
    # the run's ~40 operations on two databases (its own and the cross-run index, opened when the
    # instance was) went through one engine each
    assert created == [ours.event_log_storage.conn_string_for_shard(result.run_id)], created
    assert set(ours.event_log_storage._engines) == {"index", result.run_id}
    monkeypatch.undo()

    stock = _instance(tmp_path / "stock", STOCK.replace(b"{base}", str(tmp_path / "stock").encode()))
    assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
    stock_result = _backfill(stock)
    mine, theirs = _summary(ours, result.run_id), _summary(stock, stock_result.run_id)
    assert mine == theirs
    assert mine["partitions"] == DAYS.get_partition_keys() and mine["events"]["ASSET_MATERIALIZATION"] == 7
    assert "SUCCEEDED" in mine["checks"]


def test_a_home_written_before_keeps_its_history_and_a_wiped_instance_starts_afresh(tmp_path):
    """Homes made by the previous dagster.yaml (`storage: sqlite`) switch on the next command
    and still list their runs and partitions (the same files); after a wipe, the run databases
    Dagster deleted are created again."""
    home = tmp_path / "evalfunnel"
    environment.prepare(home)
    config = home / "dagster" / "dagster.yaml"
    shipped = environment.instance_config_template().read_bytes()
    ours = shipped[shipped.index(b"# Dagster's SQLite storage"):shipped.index(b"# Every asset")]
    config.write_bytes(shipped.replace(ours, b"storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"))
    assert environment._written_by_evalfunnel(config.read_bytes())  # as the previous version wrote it
    before = dg.DagsterInstance.from_config(str(home / "dagster"))
    assert type(before.event_log_storage).__name__ == "SqliteEventLogStorage"
    old_run = _backfill(before).run_id

    environment.prepare(home)
    assert config.read_bytes() == environment.instance_config(lake=False)
    after = dg.DagsterInstance.from_config(str(home / "dagster"))
    assert isinstance(after.event_log_storage, dagster_storage.EventLogStorage)
    assert after.get_run_by_id(old_run) is not None
    assert sorted(after.get_materialized_partitions(dg.AssetKey("days_asset"))) == DAYS.get_partition_keys()

    after.wipe()
    assert after.get_materialized_partitions(dg.AssetKey("days_asset")) == set()
    again = _backfill(after)
    assert again.success and _summary(after, again.run_id)["partitions"] == DAYS.get_partition_keys()


def test_engines_kept_are_bounded(tmp_path):
    storage = dagster_storage.EventLogStorage(str(tmp_path / "events"))
    for i in range(dagster_storage.ENGINES_KEPT + 4):
        with storage.run_connection(f"run-{i}") as conn:
            assert conn.exec_driver_sql("select count(*) from event_logs").scalar() == 0
    assert len(storage._engines) == dagster_storage.ENGINES_KEPT
    assert f"run-{dagster_storage.ENGINES_KEPT + 3}" in storage._engines and "run-0" not in storage._engines


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


WRITER = """
import sys, time
import dagster as dg
from pipeline import instance_storage
instance_storage.install()  # as a run worker: idle connections held, so commits stay in the WAL

@dg.op
def slow(context):
    for i in range(6):
        context.log.info(f"line {i}")
        time.sleep(0.3)

@dg.job
def slow_job():
    slow()

slow_job.execute_in_process(instance=dg.DagsterInstance.from_config(sys.argv[1]), run_id=sys.argv[2])
print("DONE", flush=True)
time.sleep(8)  # a long-lived process (a code server, the daemon) stays up after the run
"""


def test_live_run_logs_reach_a_watcher_while_the_writer_holds_its_connections(tmp_path):
    """The webserver's live logs (storage.watch): Dagster's watcher woke only when <run>.db
    changed, and a writer holding idle connections (install()) left its commits in the WAL
    until it exited: 7 of 19 events arrived while it lived. The watcher wakes on the WAL too."""
    import subprocess
    import sys
    import time
    import uuid

    base = tmp_path / "home"
    config = environment.instance_config(lake=False).replace(b"env: DAGSTER_HOME", str(base).encode())
    watcher = _instance(tmp_path / "watcher", config)
    writer_dir = tmp_path / "writer"
    writer_dir.mkdir()
    (writer_dir / "dagster.yaml").write_bytes(config)
    (tmp_path / "writer.py").write_text(WRITER)
    run_id = str(uuid.uuid4())
    got: list = []

    def collect(entry, cursor) -> None:  # noqa: ANN001
        got.append(entry)

    watcher.event_log_storage.watch(run_id, None, collect)
    try:
        proc = subprocess.Popen([sys.executable, str(tmp_path / "writer.py"), str(writer_dir), run_id],
                                stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent.parent)
        assert proc.stdout.readline().strip() == "DONE"
        stored = len(watcher.all_logs(run_id))
        deadline = time.monotonic() + 5
        while len(got) < stored and time.monotonic() < deadline:
            time.sleep(0.1)
        alive = proc.poll() is None
        delivered = len(got)
        proc.kill()
        proc.wait()
    finally:
        watcher.event_log_storage.end_watch(run_id, collect)
        watcher.dispose()
    assert alive, "the writer exited before the check: the test proves nothing"
    assert stored >= 15 and delivered == stored, (delivered, stored)


def test_a_wipe_closes_the_connections_held_to_the_databases_it_deletes(tmp_path):
    import os

    instance_storage.install()
    home = tmp_path / "home"
    instance = _instance(home, environment.instance_config(lake=False).replace(b"env: DAGSTER_HOME", str(home).encode()))
    assert _backfill(instance).success
    folder = os.path.join(instance.event_log_storage._base_dir, "")
    assert any(p.startswith(folder) for p in instance_storage._keepers)
    runs = [p for p in instance_storage._keepers if p.startswith(folder) and not p.endswith("index.db")]
    assert runs  # a run's database held open
    instance.wipe()  # deletes the run databases, keeps the index
    assert not set(runs) & set(instance_storage._keepers)
    deleted = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
               if os.path.exists(f"/proc/self/fd/{fd}") and "(deleted)" in os.readlink(f"/proc/self/fd/{fd}")]
    assert not [d for d in deleted if d.startswith(folder)], deleted
    assert _backfill(instance).success
