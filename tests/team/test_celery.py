"""A run's steps spread over dagster-celery workers (issue 17), with Redis from Debian's packages
as broker and backend, on a DuckLake: deploy/celery.yaml as a team uses it."""

from __future__ import annotations

import json
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
        # no run config: the broker and backend come from the variables, as for runs the log sensor,
        # the schedules and the UI launch (deploy/celery.yaml's execution block is checked below)
        run = subprocess.run([os.path.join(bin_dir, "dagster"), "job", "execute", "-m", "pipeline.definitions", "-j",
                              "daily_ingest", "--tags", tags], env=env,
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


LOAD = """
import json, sys, yaml, dagster as dg
from pipeline.definitions import defs
job = defs.get_job_def("daily_ingest")
execution = dg.validate_run_config(job, yaml.safe_load(open(sys.argv[1])))["execution"]
print(json.dumps({name: sorted(config) for name, config in execution.items()}))
"""


def _load(env_update: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    # the resources' variables, so the run config validates (nothing runs)
    env.update({"EVALFUNNEL_EXECUTOR": "celery", "EVALFUNNEL_PII_SALT": "s" * 32, "EVALFUNNEL_HOME": "/nonexistent",
                "EVALFUNNEL_SOURCE": "/nonexistent", "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env_update})
    return subprocess.run([sys.executable, "-c", LOAD, str(ROOT / "deploy" / "celery.yaml")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_broker_settings_are_checked_when_the_definitions_load():
    ok = _load({"EVALFUNNEL_CELERY_BROKER": "redis://:sekrit@redis.internal:6379/0",
                "EVALFUNNEL_CELERY_BACKEND": "redis://redis.internal:6379/1"})
    assert ok.returncode == 0, ok.stderr[-2000:]
    # deploy/celery.yaml's execution block is valid for the executor the variables configure
    shown = json.loads(ok.stdout.strip().splitlines()[-1])
    assert list(shown) == ["celery_from_environment"] and {"backend", "broker"} <= set(shown["celery_from_environment"])
    for value, expected in (("", "needs EVALFUNNEL_CELERY_BROKER"), ("notaurl", "expected a broker URL"),
                            ("redis://127.0.0.1:notaport/0", "port")):
        bad = _load({"EVALFUNNEL_CELERY_BROKER": value})
        assert bad.returncode != 0 and expected in bad.stderr, bad.stderr[-2000:]
    leaky = _load({"EVALFUNNEL_CELERY_BROKER": "redis://:sekrit@h:x/0"})
    assert leaky.returncode != 0 and "sekrit" not in leaky.stderr
