"""Sources in object storage (issue 17): `--source s3://bucket/prefix` against an S3-compatible
server the test starts on 127.0.0.1 (moto's server mode), never a cloud."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import record
from tests.servers import free_port

KEY, SECRET = "AKIATESTKEY", "s3cr3t-never-printed"


@pytest.fixture(scope="module")
def s3():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY,
                          aws_secret_access_key=SECRET, region_name="us-east-1")
    for _ in range(100):
        try:
            client.list_buckets()
            break
        except Exception:  # noqa: BLE001  (the server is still starting)
            time.sleep(0.1)
    try:
        yield client, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_", "AWS_"))}
    env.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": "us-east-1", "EVALFUNNEL_PII_SALT": "x" * 32, "EVALFUNNEL_RAW_RETENTION_DAYS": "0"})
    return env


def _lines(ids: list[str], day: str) -> bytes:
    return ("\n".join(json.dumps(record(i, ts=f"2026-03-{day}T10:00:00Z")) for i in ids) + "\n").encode()


def test_run_reads_logs_from_s3_and_sees_new_changed_and_deleted_objects(s3, tmp_path):
    from pipeline import warehouse

    client, endpoint = s3
    client.create_bucket(Bucket="team-logs")
    client.put_object(Bucket="team-logs", Key="prod/logs/2026/03/a.jsonl", Body=_lines([f"a{i}" for i in range(50)], "02"))
    client.put_object(Bucket="team-logs", Key="prod/logs/2026/03/b c.jsonl.gz",
                      Body=gzip.compress(_lines([f"b{i}" for i in range(30)], "03")))
    client.put_object(Bucket="team-logs", Key="other/logs/x.jsonl", Body=_lines(["x"], "02"))  # another prefix
    home = tmp_path / "home"
    cli = [sys.executable, "-m", "pipeline.cli"]
    out = subprocess.run([*cli, "run", "--source", "s3://team-logs/prod/", "--home", str(home)], env=_env(endpoint),
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "2 new or changed object(s) fetched" in out.stdout
    assert SECRET not in out.stdout + out.stderr
    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from raw_logs").fetchall() == [(80,)]

    # a new object, one deleted: the next run fetches one, removes one, and the days follow
    client.put_object(Bucket="team-logs", Key="prod/logs/2026/03/c.jsonl", Body=_lines([f"c{i}" for i in range(5)], "04"))
    client.delete_object(Bucket="team-logs", Key="prod/logs/2026/03/a.jsonl")
    out = subprocess.run([*cli, "run", "--source", "s3://team-logs/prod", "--home", str(home)], env=_env(endpoint),
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "1 new or changed object(s) fetched" in out.stdout and "1 unchanged, 1 removed" in out.stdout
    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from raw_logs").fetchall() == [(85,)]  # c's 5 in; a's day not rerun
    # as for a local source, the deleted file's day is replaced by a backfill of it (or the sensor)
    out = subprocess.run([*cli, "backfill", "daily_ingest", "--from", "2026-03-02", "--to", "2026-03-02", "--source",
                          "s3://team-logs/prod", "--home", str(home)], env=_env(endpoint), capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "0 new or changed object(s) fetched" in out.stdout
    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from raw_logs").fetchall() == [(35,)]
    for leaked in home.rglob("*"):
        if leaked.is_file() and leaked.suffix in (".log", ".yaml", ".txt", ".json", ""):
            assert SECRET.encode() not in leaked.read_bytes(), leaked


def test_the_sensor_notices_a_new_object(s3, tmp_path, monkeypatch):
    import dagster as dg

    from pipeline.resources import SourceResource
    from pipeline.sensors import log_files_sensor

    client, endpoint = s3
    client.create_bucket(Bucket="sensed")
    client.put_object(Bucket="sensed", Key="logs/a.jsonl", Body=_lines(["a"], "02"))
    for k, v in _env(endpoint).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("EVALFUNNEL_HOME", str(tmp_path))
    monkeypatch.setenv("EVALFUNNEL_START_DATE", "2026-03-01")
    source = SourceResource(source_dir="s3://sensed")
    first = log_files_sensor(dg.build_sensor_context(resources={"source": source}))
    assert [r.partition_key for r in first.run_requests] == ["2026-03-02"]
    client.put_object(Bucket="sensed", Key="logs/b.jsonl", Body=_lines(["b"], "05"))
    second = log_files_sensor(dg.build_sensor_context(cursor=first.cursor, resources={"source": source}))
    assert [r.partition_key for r in second.run_requests] == ["2026-03-05"]


def test_a_missing_bucket_or_an_azure_source_is_a_usage_error(s3, tmp_path):
    _, endpoint = s3
    for url, says in (("s3://no-such-bucket/logs", "no-such-bucket"), ("az://container/logs", "azure extension")):
        out = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", url, "--home",
                              str(tmp_path / "home")], env=_env(endpoint), capture_output=True, text=True, timeout=300)
        assert out.returncode == 2 and says in out.stderr, out.stderr
        assert SECRET not in out.stdout + out.stderr


def test_a_lake_keeps_its_parquet_files_in_s3(s3, tmp_path, monkeypatch):
    from pipeline import warehouse

    client, endpoint = s3
    client.create_bucket(Bucket="lake-data")
    for k, v in _env(endpoint).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "ducklake:sqlite:" + str(tmp_path / "catalog.sqlite"))
    monkeypatch.setenv(warehouse.LAKE_DATA_VAR, "s3://lake-data/evals")
    target = warehouse.location(tmp_path)
    with warehouse.connect(target) as con:
        con.execute("insert into raw_purges select date '2026-01-01' + i::int, i, 0, now() from range(500) t(i)")
    with warehouse.connect(target, read_only=True) as con:
        assert con.execute("select count(*), sum(raw_rows) from raw_purges").fetchall() == [(500, 124750)]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="lake-data").get("Contents", [])]
    assert any(k.startswith("evals/") and k.endswith(".parquet") for k in keys), keys


def test_odd_keys_big_objects_and_an_emptied_prefix(s3, tmp_path, monkeypatch):
    """Keys with glob characters are fetched literally; a key that is also a folder, and an object
    over the size limit, are named and left out; when every object is gone the mirror empties."""
    from pipeline.logs import remote

    client, endpoint = s3
    client.create_bucket(Bucket="odd-keys")
    for key in ("logs/br[1].jsonl", "logs/star*x.jsonl", "logs/starAAx.jsonl", "logs/day", "logs/day/y.jsonl"):
        client.put_object(Bucket="odd-keys", Key=key, Body=_lines([key.replace("/", "_")], "02"))
    client.put_object(Bucket="odd-keys", Key="logs/big.jsonl", Body=b"x" * 3_000_000)
    for k, v in _env(endpoint).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(remote.MAX_OBJECT_VAR, "2")
    said: list[str] = []
    out = remote.mirror("S3://odd-keys/", tmp_path / "home", say=said.append)  # the scheme's case does not matter
    names = sorted(p.relative_to(out.root).as_posix() for p in out.root.rglob("*") if p.is_file())
    assert names == ["logs/br[1].jsonl", "logs/day/y.jsonl", "logs/star*x.jsonl", "logs/starAAx.jsonl"]
    assert (out.root / "logs" / "star*x.jsonl").read_bytes() == _lines(["logs_star*x.jsonl"], "02")
    assert len(out.skipped) == 2 and any("logs/day:" in s and "folder" in s for s in out.skipped)
    assert any("big.jsonl" in s and remote.MAX_OBJECT_VAR in s for s in out.skipped)
    assert len(said) == 2 and KEY not in " ".join(said) and SECRET not in " ".join(said)
    # every object deleted: the mirror follows (the sensor then sees the deletions), no error
    for obj in client.list_objects_v2(Bucket="odd-keys")["Contents"]:
        client.delete_object(Bucket="odd-keys", Key=obj["Key"])
    again = remote.mirror("s3://odd-keys", tmp_path / "home")
    assert again.removed == 4 and not [p for p in again.root.rglob("*") if p.is_file()]
    # a never-mirrored empty prefix is still an error (a typo, most likely)
    with pytest.raises(remote.RemoteSourceError, match="holds no objects"):
        remote.mirror("s3://odd-keys/nothing-here", tmp_path / "home")
    with pytest.raises(remote.RemoteSourceError, match="name a bucket"):
        remote.mirror("s3://", tmp_path / "home")


def test_r2_needs_its_endpoint_and_a_public_bucket_on_an_endpoint_needs_no_keys(s3, tmp_path, monkeypatch):
    from pipeline.logs import remote

    client, endpoint = s3
    client.create_bucket(Bucket="public-logs", ACL="public-read")
    client.put_object(Bucket="public-logs", Key="logs/a.jsonl", Body=_lines(["p1"], "02"), ACL="public-read")
    for k, v in _env(endpoint).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    out = remote.mirror("s3://public-logs", tmp_path / "home")  # moto serves it without keys, as a public bucket
    assert out.fetched == 1
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    with pytest.raises(remote.RemoteSourceError, match="AWS_ENDPOINT_URL"):
        remote.mirror("r2://public-logs", tmp_path / "home")
