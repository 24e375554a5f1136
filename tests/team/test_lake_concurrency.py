"""Runs on disjoint partitions share one DuckLake (issue 17): both succeed at the same time, the
result equals one run on the embedded file, and a worker killed with -9 in the middle of a run
leaves every partition as it was (each window's deletes and inserts are one transaction); the
rerun completes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.checksums import differences, table_checksums

pytestmark = pytest.mark.e2e

LOG_TABLES = ("raw_logs", "log_rejects", "log_partitions", "clean_logs", "pii_replacements", "log_files")
SALT = "0123456789abcdef" * 4


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update({"EVALFUNNEL_PII_SALT": SALT, "EVALFUNNEL_RAW_RETENTION_DAYS": "0", "EVALFUNNEL_START_DATE": "2026-09-01"})
    env.update(extra)
    return env


def _backfill(home: Path, source: Path, first: str, last: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "backfill", "daily_ingest", "--from", first, "--to",
                             last, "--source", str(source), "--home", str(home)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    return out


def _log_checksums(target) -> dict[str, dict]:
    with warehouse.connect(target, read_only=True) as con:
        return {t: c for t, c in table_checksums(con).items() if t in LOG_TABLES}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("source")
    subprocess.run([sys.executable, "-m", "pipeline.cli", "demo-data", "--out", str(out), "--months", "2",
                    "--interactions", "6000"], check=True, capture_output=True, timeout=300)
    return out


def test_two_backfills_on_disjoint_months_at_once_then_a_kill_9_leaves_no_partial_partition(postgres, source, tmp_path):
    lake = {warehouse.WAREHOUSE_VAR: "ducklake:postgres:" + postgres.libpq(postgres.create_database()),
            warehouse.LAKE_DATA_VAR: str(tmp_path / "lake-data")}
    env = _env(lake)
    os.environ.update(lake)
    try:
        target = warehouse.location(tmp_path)
        with warehouse.connect(target):
            pass  # the lake's tables, as `evalfunnel run` would have made them
    finally:
        for k in lake:
            os.environ.pop(k)
    # two people (two homes, two Dagster instances) backfill disjoint months into one lake at once
    september = _backfill(tmp_path / "a", source, "2026-09-01", "2026-09-30", env)
    october = _backfill(tmp_path / "b", source, "2026-10-01", "2026-10-31", env)
    outputs = [_finish(september), _finish(october)]
    on_lake = _log_checksums(target)

    # the same two months in one run on the embedded file
    with warehouse.connect(tmp_path / "embedded" / "warehouse.duckdb"):
        pass
    _finish(_backfill(tmp_path / "embedded", source, "2026-09-01", "2026-10-31", _env({})))
    embedded = _log_checksums(tmp_path / "embedded" / "warehouse.duckdb")
    assert on_lake["raw_logs"]["rows"] > 5000 and on_lake["clean_logs"]["rows"] == on_lake["raw_logs"]["rows"]
    assert not differences(embedded, on_lake), "\n".join(differences(embedded, on_lake)) + "\n" + outputs[1][-2000:]

    # kill -9 the September worker at several points of its rerun (spread over a rerun's length,
    # measured first): nothing partial is ever left
    started = time.perf_counter()
    _finish(_backfill(tmp_path / "a", source, "2026-09-01", "2026-09-30", env))
    length = time.perf_counter() - started
    assert not differences(on_lake, _log_checksums(target))
    killed_running = 0
    for share in (0.3, 0.5, 0.7, 0.85, 0.95):
        proc = _backfill(tmp_path / "a", source, "2026-09-01", "2026-09-30", env)
        time.sleep(share * length)
        finished = proc.poll() is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        killed_running += not finished
        after = _log_checksums(target)
        assert not differences(on_lake, after), (f"killed after {share * length:.1f}s" + (" (it had finished)" if finished else "")
                                                 + ":\n" + "\n".join(differences(on_lake, after)))
    assert killed_running >= 3, f"only {killed_running} of 5 kills hit a running backfill (a rerun takes {length:.1f}s)"
    _finish(_backfill(tmp_path / "a", source, "2026-09-01", "2026-09-30", env))  # the rerun runs to the end
    assert not differences(on_lake, _log_checksums(target))


def test_the_team_instance_keeps_its_runs_in_postgresql(postgres, source, tmp_path):
    """deploy/dagster.yaml as a team installs it: DAGSTER_HOME holds it, the DAGSTER_PG_* variables
    name a PostgreSQL database, the warehouse is a lake. A backfill runs, its run is recorded in
    PostgreSQL (not SQLite), and evalfunnel leaves the team's dagster.yaml as it was."""
    import shutil

    import psycopg2

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(Path(__file__).parents[2] / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    runs_db = postgres.create_database()
    lake = {warehouse.WAREHOUSE_VAR: "ducklake:postgres:" + postgres.libpq(postgres.create_database()),
            warehouse.LAKE_DATA_VAR: str(tmp_path / "lake-data")}
    env = _env({**lake, "EVALFUNNEL_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(dagster_home),
                "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(postgres.port), "DAGSTER_PG_DB": runs_db,
                "DAGSTER_PG_USER": postgres.user, "DAGSTER_PG_PASSWORD": ""})
    os.environ.update(lake)
    try:
        with warehouse.connect(warehouse.location(tmp_path / "home")):
            pass
    finally:
        for k in lake:
            os.environ.pop(k)
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "backfill", "daily_ingest", "--from", "2026-09-01",
                           "--to", "2026-09-07", "--source", str(source)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with psycopg2.connect(host="127.0.0.1", port=postgres.port, user=postgres.user, dbname=runs_db) as pg:
        with pg.cursor() as cur:
            cur.execute("select status, count(*) from runs group by status")
            assert dict(cur.fetchall()) == {"SUCCESS": 1}
            cur.execute("select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'")
            assert cur.fetchone()[0] >= 7 * 3  # raw_logs, log_rejects and clean_logs for each of the 7 days
    assert (dagster_home / "dagster.yaml").read_bytes() == (Path(__file__).parents[2] / "deploy" / "dagster.yaml").read_bytes()
    assert not list(dagster_home.rglob("*.db")), "no SQLite run storage beside the PostgreSQL one"
