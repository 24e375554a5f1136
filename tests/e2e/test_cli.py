"""`evalfunnel` as a user runs it: a small demo twice in a temp home, and readable errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline.warehouse import connect

pytestmark = pytest.mark.e2e


def evalfunnel(*args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))} | (extra_env or {})
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def counts(home: Path) -> tuple:
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        return con.execute(
            # loaded and rejected from the per-day counts: the default retention purges the raw
            # rows of days older than 30 days once they are cleaned (the demo data is older)
            "select (select sum(loaded) from log_partitions), (select sum(rejected) from log_partitions), "
            "(select sum(read) from log_partitions), (select sum(loaded) + sum(rejected) + sum(duplicates) from log_partitions), "
            "(select count(*) from log_partitions), (select count(*) from clean_logs), "
            "(select count(distinct version_id) from eval_set)").fetchone()


def test_demo_twice_gives_the_same_tables(tmp_path):
    home = tmp_path / "home"
    args = ("demo", "--home", str(home), "--interactions", "1500", "--months", "1")
    first = evalfunnel(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "records read" in first.stdout and str(home / "warehouse.duckdb") in first.stdout
    assert (home / "dagster" / "dagster.yaml").exists() and (home / "demo-source" / "logs").is_dir()
    # the program ends without the interpreter's teardown: its exit handlers still fold the
    # instance's write-ahead logs into the databases (a copy of the .db files holds every run)
    # and the warehouse's into its file
    assert not [p.name for p in home.rglob("*.db-wal")] and not [p.name for p in home.rglob("*.duckdb.wal")]
    once = counts(home)
    second = evalfunnel(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "demo source up to date" in second.stdout
    twice = counts(home)
    assert once == twice
    raw, rejects, read, reconciled, days, cleaned, eval_versions = twice
    # one month (October) ends no quarter: the eval set waits, and says so
    assert cleaned == raw and eval_versions == 0
    assert "skipping quarterly_eval_rebuild (eval_set): no complete partition covers" in first.stdout
    assert read == reconciled and rejects == 5 and raw > 1400 and days == 31
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        kept, purged_days, oldest_kept = con.execute(
            "select (select count(*) from raw_logs) + (select count(*) from log_rejects), "
            "(select count(*) from raw_purges), (select min(log_date) from raw_logs)").fetchone()
    assert purged_days > 0 and kept < raw
    assert oldest_kept is None or (date.today() - oldest_kept).days <= 30
    assert "created a local pseudonymization key for the demo" in first.stdout
    assert "created a local pseudonymization key" not in second.stdout  # the same key, kept
    assert (home / "pii_salt").stat().st_mode & 0o777 == 0o600
    # the runs are on the home's persistent instance, for the UI to show
    assert any((home / "dagster").rglob("*.db"))


def test_missing_source_is_one_readable_line(tmp_path):
    result = evalfunnel("run", "--source", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"evalfunnel: error: source directory {tmp_path / 'nowhere'} does not exist (set EVALFUNNEL_SOURCE or pass --source)"
    assert lines[1].startswith("  hint: ") and "Traceback" not in result.stderr


def test_run_without_a_key_is_a_clear_error(tmp_path, demo_source):
    result = evalfunnel("run", "--source", str(demo_source), "--home", str(tmp_path / "h"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("evalfunnel: error: EVALFUNNEL_PII_SALT is not set")
    assert "hint: export EVALFUNNEL_PII_SALT=" in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = evalfunnel("--debug", "run", "--source", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_demo_data_writes_a_source(tmp_path):
    result = evalfunnel("demo-data", "--out", str(tmp_path / "src"), "--months", "1", "--interactions", "300", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 300 interactions" in result.stdout and (tmp_path / "src" / "metrics.yaml").exists()


def test_regression_add_promotes_an_anonymized_logged_failure(tmp_path):
    home = tmp_path / "home"
    # raw text kept: the demo's month ends before today, and the default 30-day retention left
    # raw_logs one day of it (none with an email) on the last day of the next month
    assert evalfunnel("demo", "--home", str(home), "--interactions", "600", "--months", "1", cwd=tmp_path,
                      extra_env={"EVALFUNNEL_RAW_RETENTION_DAYS": "0"}).returncode == 0
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        request_id, raw_text = con.execute(
            "select c.request_id, r.messages[-1].content from clean_logs c join raw_logs r using (request_id) "
            "where c.messages[-1].content like '%<EMAIL_%' limit 1").fetchone()
    target = home / "demo-source" / "regression_set.jsonl"
    before = target.read_text().count("\n")
    added = evalfunnel("regression", "add", request_id, "--reason", "leaked the user's email", "--home", str(home),
                       "--source", str(home / "demo-source"), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    lines = target.read_text().splitlines()
    case = json.loads(lines[-1])
    assert len(lines) == before + 1 and case["case_id"] == f"log-{request_id}" and case["reason"] == "leaked the user's email"
    raw_email = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", raw_text).group(0)
    assert "<EMAIL_" in lines[-1] and raw_email not in target.read_text()  # anonymized text only
    again = evalfunnel("regression", "add", request_id, "--reason", "x", "--home", str(home),
                       "--source", str(home / "demo-source"), cwd=tmp_path)
    assert again.returncode == 2 and "already has case" in again.stderr
    missing = evalfunnel("regression", "add", "nope", "--reason", "x", "--home", str(home), cwd=tmp_path)
    assert missing.returncode == 2 and "is not in clean_logs" in missing.stderr


def test_help_lists_every_command(tmp_path):
    result = evalfunnel("--help", cwd=tmp_path)
    assert result.returncode == 0
    listed = re.search(r"\{([a-z,-]+)\}", result.stdout).group(1).split(",")
    assert {"demo", "demo-data", "run", "backfill", "report", "gate", "regression", "dev", "migrate"} == set(listed)
    assert "add" in evalfunnel("regression", "--help", cwd=tmp_path).stdout


def test_report_and_gate_without_a_warehouse_are_one_readable_line(tmp_path):
    for args in (("report",), ("gate", "--candidate", "a", "--baseline", "b")):
        result = evalfunnel(*args, "--home", str(tmp_path / "empty"), cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        first, hint = result.stderr.strip().splitlines()
        assert first == f"evalfunnel: error: no warehouse at {tmp_path / 'empty' / 'warehouse.duckdb'}"
        assert hint.startswith("  hint: run `evalfunnel run --source DIR`")


@pytest.mark.parametrize("argv, debug", [
    (["run", "--source", "s", "--debug"], True), (["--debug", "run", "--source", "s"], True),
    (["run", "--source", "s"], False), (["regression", "add", "r1", "--reason", "x", "--debug"], True)])
def test_debug_is_accepted_before_or_after_the_command(argv, debug):
    from pipeline.cli import build_parser

    assert build_parser().parse_args(argv).debug is debug


@pytest.mark.parametrize("files, message, hint", [
    ({}, "no log file under", "put the logs there as JSONL, JSONL.gz, CSV or Parquet files"),
    ({"notes.txt": "hi"}, "(only 1 file(s) of other kinds)", "put the logs there"),
    ({"a.jsonl": "", "b/c.csv": ""}, "the 2 log file(s) under", "nothing to run on yet"),
    ({"a.jsonl": '{"request_id": "r1", "timestamp": "yesterday"}\n'}, "no log record with a readable timestamp",
     "check the files' format"),
])
def test_a_source_without_records_says_which_case_it_is(tmp_path, files, message, hint):
    """An empty logs/ folder, files of other kinds only, empty files and unreadable timestamps each
    get their own one-line error and hint (an empty folder was told to check the timestamp field)."""
    logs = tmp_path / "src" / "logs"
    logs.mkdir(parents=True)
    for name, text in files.items():
        (logs / name).parent.mkdir(parents=True, exist_ok=True)
        (logs / name).write_text(text)
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", str(tmp_path / "src"), "--home",
                           str(tmp_path / "home")], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))},
                               "EVALFUNNEL_PII_SALT": "s"})
    assert done.returncode == 2 and message in done.stderr and hint in done.stderr, done.stderr


def test_a_warehouse_written_by_duckdb_2_is_one_line_with_the_way_on_and_the_demo_rebuilds_it(tmp_path):
    """evalfunnel moved from DuckDB 2.0 to 1.5.5 (its extensions exist for 1.5.5 only); DuckDB never
    reads a newer file. A 2.0-written warehouse (the fixture, 274 kB gzipped to 665 bytes) gets a
    usage error saying how to go on; the demo's own warehouse is moved aside and rebuilt."""
    import gzip

    fixture = Path(__file__).resolve().parents[1] / "orchestration" / "duckdb2_warehouse.duckdb.gz"
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(gzip.decompress(fixture.read_bytes()))
    (tmp_path / "src" / "logs").mkdir(parents=True)
    (tmp_path / "src" / "logs" / "a.jsonl").write_text('{"request_id": "r1", "timestamp": "2026-05-02T10:00:00Z", '
                                                      '"user_id": "u", "query": "q", "response": "a"}\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))},
           "EVALFUNNEL_PII_SALT": "s"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", str(tmp_path / "src"), "--home",
                           str(home)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "was written by a newer DuckDB" in done.stderr, done.stderr
    assert "STORAGE_VERSION 'v1.5.0'" in done.stderr and "Traceback" not in done.stderr
    report = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", "--home", str(home)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert report.returncode == 2 and "was written by a newer DuckDB" in report.stderr, report.stderr
