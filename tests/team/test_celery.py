"""A run's steps spread over dagster-celery workers (issue 17), with Redis from Debian's packages
as broker and backend, on a DuckLake: deploy/celery.yaml as a team uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import warehouse
from tests.servers import redis_bin, redis_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def redis():
    if redis_bin() is None:
        if os.environ.get("EVALFUNNEL_REQUIRE_SERVERS") == "1":
            pytest.fail("Redis is not installed (apt-get install redis-server); .ci/run installs it")
        pytest.skip("Redis is not installed (apt-get install redis-server)")
    with redis_server() as url:
        yield url


def test_daily_ingest_runs_its_steps_on_a_celery_worker(redis, tmp_path):
    source = tmp_path / "source"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "demo-data", "--out", str(source), "--months", "1",
                    "--interactions", "1500"], check=True, capture_output=True, timeout=300)
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update({"PATH": bin_dir + os.pathsep + env.get("PATH", ""), "EVALFUNNEL_HOME": str(tmp_path / "home"),
                "DAGSTER_HOME": str(tmp_path / "home" / "dagster"), "EVALFUNNEL_SOURCE": str(source),
                "EVALFUNNEL_PII_SALT": "s" * 32, "EVALFUNNEL_RAW_RETENTION_DAYS": "0",
                "EVALFUNNEL_START_DATE": "2026-10-01", "EVALFUNNEL_EXECUTOR": "celery",
                warehouse.WAREHOUSE_VAR: "ducklake:sqlite:" + str(tmp_path / "catalog.sqlite"),
                warehouse.LAKE_DATA_VAR: str(tmp_path / "lake-data"),
                "EVALFUNNEL_CELERY_BROKER": redis + "/0", "EVALFUNNEL_CELERY_BACKEND": redis + "/1"})
    # the home and the lake's tables, as `evalfunnel run` makes them
    subprocess.run([sys.executable, "-c", "from pipeline import environment, warehouse\n"
                    "h = environment.prepare(None)\nwith warehouse.connect(h.warehouse): pass"],
                   env=env, check=True, cwd=ROOT, timeout=120)
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen([os.path.join(bin_dir, "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                                   "-y", str(ROOT / "deploy" / "celery.yaml")], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(300):
            if " ready." in worker_log.read_text():
                break
            time.sleep(0.1)
        tags = '{"dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-10-10"}'
        run = subprocess.run([os.path.join(bin_dir, "dagster"), "job", "execute", "-m", "pipeline.definitions", "-j",
                              "daily_ingest", "-c", str(ROOT / "deploy" / "celery.yaml"), "--tags", tags], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0 and "RUN_SUCCESS" in run.stdout + run.stderr, (run.stdout + run.stderr)[-4000:]
        assert "Submitting celery task" in run.stdout + run.stderr
    finally:  # the worker and celery's own processes (its group) stop with it
        os.killpg(worker.pid, signal.SIGTERM)
        for _ in range(300):
            try:
                os.killpg(worker.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    # each of the four steps (ingest, the contract check, clean_logs, the residue check) ran on the worker
    assert worker_log.read_text().count("succeeded in") == 4, worker_log.read_text()[-3000:]
    os.environ.update({k: env[k] for k in (warehouse.WAREHOUSE_VAR, warehouse.LAKE_DATA_VAR)})
    try:
        with warehouse.connect(warehouse.location(tmp_path / "home"), read_only=True) as con:
            days = con.execute("select count(distinct log_date), count(*) from raw_logs").fetchall()[0]
            cleaned = con.execute("select count(*) from clean_logs").fetchall()[0][0]
    finally:
        for k in (warehouse.WAREHOUSE_VAR, warehouse.LAKE_DATA_VAR):
            os.environ.pop(k)
    assert days[0] == 10 and days[1] > 300 and cleaned == days[1]
