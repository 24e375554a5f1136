"""Judge rate limits shared by every worker through PostgreSQL (issue 17)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pipeline.judge.shared_limits import SharedLimitError, SharedTokenBucket

WORKER = r"""
import asyncio, sys, time
from pipeline.judge.shared_limits import SharedTokenBucket
dsn, seconds, start = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
bucket = SharedTokenBucket(dsn, "model-x|requests", 60)
while time.time() < start:
    time.sleep(0.01)
granted = 0
async def main():
    global granted
    while time.time() < start + seconds:
        try:
            await asyncio.wait_for(bucket.acquire(1), timeout=start + seconds - time.time())
        except (asyncio.TimeoutError, ValueError):
            break
        granted += 1
asyncio.run(main())
print(granted)
"""


def test_three_workers_together_stay_within_one_limit(postgres):
    """60 requests a minute shared by three processes taking as fast as they can for 4 s: the
    bucket's 60 plus 4 s of refill (4) in all, where per-process buckets would grant 3 x 64."""
    dsn = postgres.libpq(postgres.create_database())
    start = time.time() + 3.0  # all three start taking at once, after their imports
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, dsn, "4", str(start)], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    counts = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert 60 <= sum(counts) <= 60 + 4 + 2, counts  # 2: refill while the last takers' round trips land


def test_the_client_shares_its_limits_when_the_settings_name_a_server(postgres):
    from pipeline.judge.client import LLMClient, LLMSettings, TokenBucket

    dsn = postgres.libpq(postgres.create_database())
    shared = LLMClient(LLMSettings(model="m", requests_per_minute=100, tokens_per_minute=5000, shared_limits_dsn=dsn))
    assert isinstance(shared.rpm, SharedTokenBucket) and isinstance(shared.tpm, SharedTokenBucket)
    assert (shared.rpm.key, shared.tpm.key) == ("m|requests", "m|tokens")
    assert shared.rpm.take(100) == 0 and shared.rpm.take(50) > 0  # the bucket is empty now: wait for refill
    local = LLMClient(LLMSettings(model="m", requests_per_minute=100))
    assert isinstance(local.rpm, TokenBucket) and local.tpm is None


def test_an_unreachable_limiter_says_so_without_the_password():
    bucket = SharedTokenBucket("host=127.0.0.1 port=1 password=hunter2 connect_timeout=2", "m|requests", 10)
    with pytest.raises(SharedLimitError) as err:
        bucket.take(1)
    assert "password=***" in str(err.value) and "hunter2" not in str(err.value)


def test_the_judge_resource_shares_limits_only_on_a_postgres_lake(monkeypatch):
    from pipeline import warehouse

    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    assert warehouse.shared_limits_dsn() is None
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "ducklake:sqlite:/tmp/c.sqlite")
    assert warehouse.shared_limits_dsn() is None
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "ducklake:postgres:host=db dbname=evals")
    assert warehouse.shared_limits_dsn() == "host=db dbname=evals"


def test_a_dropped_connection_is_opened_again_and_a_dead_server_is_named(postgres):
    import psycopg2

    dsn = postgres.libpq(postgres.create_database())
    bucket = SharedTokenBucket(dsn, "m|requests", 600)
    assert bucket.take(1) == 0
    pid = bucket._con.get_backend_pid()
    with psycopg2.connect(dsn) as admin, admin.cursor() as cur:  # a server restart or an idle timeout
        cur.execute("select pg_terminate_backend(%s)", (pid,))
    assert bucket.take(1) == 0  # a new connection, same bucket
    assert bucket._con.get_backend_pid() != pid
    bucket.dsn = "host=127.0.0.1 port=1 password=hunter2 connect_timeout=2"  # then the server is gone
    bucket._con.close()
    with pytest.raises(SharedLimitError) as err:
        bucket.take(1)
    assert "hunter2" not in str(err.value)


def test_a_call_above_the_limit_waits_for_a_full_bucket_and_leaves_a_debt(postgres):
    """100 tokens a minute and a 700-token call: granted on a full bucket, then the next call
    waits until the 600 owed and its own amount have refilled (the rate holds over time)."""
    dsn = postgres.libpq(postgres.create_database())
    bucket = SharedTokenBucket(dsn, "m|tokens", 100)
    assert bucket.take(700) == 0
    wait = bucket.take(10)
    assert wait == pytest.approx((600 + 10) / (100 / 60), rel=0.01)


def test_the_local_bucket_keeps_a_limit_below_one_call(monkeypatch):
    import asyncio

    from pipeline.judge import client

    now = [1000.0]
    slept = []
    monkeypatch.setattr(client.time, "monotonic", lambda: now[0])

    async def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(client.asyncio, "sleep", sleep)
    bucket = client.TokenBucket(per_minute=0.5)  # one call every two minutes

    async def calls():
        for _ in range(3):
            await bucket.acquire(1)

    asyncio.run(calls())
    assert now[0] - 1000.0 == pytest.approx(240.0)  # the first at once, then one per 120 s
