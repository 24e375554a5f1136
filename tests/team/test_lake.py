"""The DuckLake warehouse (issue 17): a catalog in PostgreSQL, data as Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.checksums import differences

GOLDEN = Path(__file__).parents[1] / "e2e" / "demo_checksums.json"


@pytest.fixture
def lake_env(postgres, tmp_path, monkeypatch) -> dict[str, str]:
    env = {warehouse.WAREHOUSE_VAR: "ducklake:postgres:" + postgres.libpq(postgres.create_database()),
           warehouse.LAKE_DATA_VAR: str(tmp_path / "lake-data")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_a_lake_on_postgres_keeps_tables_across_connections_and_writes_parquet(lake_env, tmp_path):
    target = warehouse.location(tmp_path / "home")
    assert isinstance(target, warehouse.Lake) and not target.exists()
    with warehouse.connect(target) as con:
        # more rows than DuckLake inlines into the catalog: they go to a Parquet file
        con.execute("insert into raw_purges select date '2026-01-01' + i::int, i, 4, now() from range(1000) t(i)")
    assert target.exists()
    with warehouse.connect(target, read_only=True) as con:
        assert con.execute("select count(*), sum(raw_rows), min(log_date)::varchar from raw_purges").fetchall() == [
            (1000, 499500, "2026-01-01")]
        assert con.execute("select current_database()").fetchall() == [("lake",)]
    assert list((tmp_path / "lake-data").rglob("*.parquet")), "the lake's rows live in Parquet files"


def test_a_writer_asking_whether_the_lake_exists_attaches_once_and_creates_nothing(lake_env, tmp_path, monkeypatch):
    """`backfill` asks as a writer: its run then reuses that attach (~0.5 s each); asking a
    catalog without a DuckLake, or without evalfunnel's tables, says no and creates nothing."""
    attaches = []
    real = warehouse._attach_lake
    monkeypatch.setattr(warehouse, "_attach_lake",
                        lambda lake, read_only, create=True: attaches.append(read_only) or real(lake, read_only, create))
    warehouse.close_lakes()
    target = warehouse.location(tmp_path / "home")
    assert not target.exists(writable=True)
    assert not target.exists(), "asking made a DuckLake"
    with warehouse.connect(target, read_only=False):  # a DuckLake with evalfunnel's tables, as `run` makes it
        pass
    warehouse.close_lakes()
    attaches.clear()
    assert target.exists(writable=True)
    with warehouse.connect(target) as con:  # the run's writer: the same instance
        assert con.execute("select count(*) from raw_logs").fetchall() == [(0,)]
    assert attaches == [False], f"attached {len(attaches)} times: {attaches}"
    warehouse.close_lakes()


def test_asking_a_catalog_that_is_another_programs_database_changes_nothing(tmp_path, monkeypatch):
    import sqlite3

    foreign = tmp_path / "runs.db"  # a mistyped path that lands on another program's SQLite file
    with sqlite3.connect(foreign) as db:
        db.execute("create table runs (id integer primary key, name text)")
        db.execute("insert into runs (name) values ('theirs')")
    before = foreign.read_bytes()
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, f"ducklake:sqlite:{foreign}")
    monkeypatch.setenv(warehouse.LAKE_DATA_VAR, str(tmp_path / "data"))
    target = warehouse.location(tmp_path / "home")
    assert not target.exists(writable=True) and not target.exists()
    assert foreign.read_bytes() == before, "the check wrote a DuckLake into the file"
    assert not (tmp_path / "data").exists()
    warehouse.close_lakes()


@pytest.mark.e2e
def test_the_demo_on_ducklake_makes_the_same_tables_as_the_embedded_file(lake_env, tmp_path):
    from tests.demo_run import run_demo

    lake = run_demo(tmp_path, lake_env)
    golden = json.loads(GOLDEN.read_text())
    diff = differences(golden["tables"], lake.checksums)
    assert not diff, f"{len(diff)} tables differ between the lake and the embedded demo:\n  " + "\n  ".join(diff)
    assert not (lake.home / "warehouse.duckdb").exists(), "nothing was written to the embedded file"


def test_a_warehouse_setting_that_names_no_lake_is_refused_with_what_to_give(tmp_path, monkeypatch):
    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    assert warehouse.location(tmp_path) == tmp_path / "warehouse.duckdb"  # unset: the embedded file
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "postgres://u:hunter2@db/lake")
    with pytest.raises(warehouse.WarehouseConfigError, match="ducklake:postgres:") as bad:
        warehouse.location(tmp_path)
    assert "hunter2" not in str(bad.value)
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "ducklake:postgres:host=db password=hunter2 dbname=lake")
    monkeypatch.delenv(warehouse.LAKE_DATA_VAR, raising=False)
    with pytest.raises(warehouse.WarehouseConfigError, match=warehouse.LAKE_DATA_VAR):
        warehouse.location(tmp_path)
    monkeypatch.setenv(warehouse.LAKE_DATA_VAR, str(tmp_path / "data"))
    lake = warehouse.location(tmp_path)
    assert "hunter2" not in str(lake) and "password=***" in str(lake)
    assert warehouse.Lake("ducklake:postgres:postgresql://me:hunter2@db/x", "/d/", tmp_path).display == \
        "ducklake:postgres:postgresql://me:***@db/x"


def test_run_with_an_unreachable_catalog_exits_2_naming_it_without_its_password(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update({warehouse.WAREHOUSE_VAR: "ducklake:postgres:host=127.0.0.1 port=1 password=hunter2 dbname=x "
                                         "connect_timeout=2",
                warehouse.LAKE_DATA_VAR: str(tmp_path / "data"), "EVALFUNNEL_PII_SALT": "x" * 32})
    source = tmp_path / "source" / "logs"
    source.mkdir(parents=True)
    (source / "a.jsonl").write_text("")
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--home", str(tmp_path / "home"), "--source",
                          str(source.parent)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot attach the DuckLake warehouse" in out.stderr and "password=***" in out.stderr
    assert "hunter2" not in out.stdout + out.stderr


def test_backfill_on_a_lake_without_tables_or_catalog_says_which(lake_env, tmp_path):
    import os
    import subprocess
    import sys

    def backfill(**extra: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
        env.update(lake_env, EVALFUNNEL_PII_SALT="x" * 32, **extra)
        return subprocess.run([sys.executable, "-m", "pipeline.cli", "backfill", "daily_ingest", "--from", "2026-05-01",
                               "--to", "2026-05-02", "--home", str(tmp_path / "home"), "--source", str(tmp_path)],
                              env=env, capture_output=True, text=True, timeout=300)

    empty = backfill()
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert empty.stderr.startswith(f"evalfunnel: error: no warehouse at {warehouse.location(tmp_path / 'home')}\n"
                                   "  hint: run `evalfunnel run --source DIR`"), empty.stderr
    gone = backfill(**{warehouse.WAREHOUSE_VAR: "ducklake:postgres:host=127.0.0.1 port=1 password=hunter2 dbname=x "
                                                "connect_timeout=2"})
    assert gone.returncode == 2 and "cannot attach the DuckLake warehouse" in gone.stderr, gone.stderr
    assert "hunter2" not in gone.stdout + gone.stderr


def test_the_writer_pool_is_lifted_on_a_lake_and_a_teams_own_instance_config_is_kept(tmp_path, monkeypatch):
    from pipeline import environment

    for var in ("EVALFUNNEL_HOME", "DAGSTER_HOME"):  # prepare() sets them: restored after the test
        monkeypatch.setenv(var, str(tmp_path / "elsewhere"))
    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    home = environment.prepare(tmp_path / "home")
    config = home.dagster_home / "dagster.yaml"
    assert "default_limit: 1\n" in config.read_text()
    monkeypatch.setenv(warehouse.WAREHOUSE_VAR, "ducklake:sqlite:" + str(tmp_path / "catalog.sqlite"))
    environment.prepare(tmp_path / "home")
    assert f"default_limit: {environment.LAKE_POOL_LIMIT}" in config.read_text()
    own = "storage:\n  postgres:\n    postgres_url: {env: DAGSTER_PG_URL}\n"
    config.write_text(own)  # a team's instance (deploy/): not evalfunnel's to rewrite
    environment.prepare(tmp_path / "home")
    assert config.read_text() == own


def test_migrate_copies_an_embedded_warehouse_into_a_lake_and_back_with_equal_checksums(postgres, tmp_path):
    """Built on the embedded file by a real ingest of hostile-but-valid records, then copied to
    a PostgreSQL lake and back to a new file: every table the same, the source untouched, a
    second copy into the filled lake refused."""
    import os
    import subprocess
    import sys

    from pipeline.checksums import table_checksums

    home = tmp_path / "home"
    source = tmp_path / "source" / "logs"
    source.mkdir(parents=True)
    lines = [json.dumps({"request_id": f"r{i}", "timestamp": f"2026-03-0{1 + i % 3}T10:00:00Z", "user_id": f"ü{i % 7}",
                         "model": "m", "messages": [{"role": "user", "content": f"héllo 'quoted' \"{i}\" ⁦rtl⁩"}],
                         "response": "ok", "latency_ms": 12.5, "input_tokens": 3, "output_tokens": 4, "cost_usd": 0.001})
             for i in range(300)]
    (source / "day.jsonl").write_text("\n".join(lines) + "\n{not json\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update({"EVALFUNNEL_PII_SALT": "s" * 32, "EVALFUNNEL_RAW_RETENTION_DAYS": "0"})  # 0: raw text kept
    run = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", str(source.parent), "--home", str(home)],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    embedded = home / "warehouse.duckdb"
    with warehouse.connect(embedded, read_only=True) as con:
        before = table_checksums(con, volatile={})
    assert before["raw_logs"]["rows"] == 300 and before["log_rejects"]["rows"] == 1

    lake = "ducklake:postgres:" + postgres.libpq(postgres.create_database())
    migrate = [sys.executable, "-m", "pipeline.cli", "migrate", "--home", str(home)]
    out = subprocess.run([*migrate, "--to", lake, "--lake-data", str(tmp_path / "lake")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checksum match" in out.stdout and "raw_logs: 300 rows" in out.stdout
    again = subprocess.run([*migrate, "--to", lake, "--lake-data", str(tmp_path / "lake")], env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already holds rows" in again.stderr

    back = tmp_path / "back" / "warehouse.duckdb"
    lake_env = {**env, warehouse.WAREHOUSE_VAR: lake, warehouse.LAKE_DATA_VAR: str(tmp_path / "lake")}
    out = subprocess.run([*migrate, "--to", str(back)], env=lake_env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    with warehouse.connect(back, read_only=True) as con:
        after = table_checksums(con, volatile={})
    with warehouse.connect(embedded, read_only=True) as con:
        assert table_checksums(con, volatile={}) == before  # the source was only read
    for seeded in warehouse.SEEDED:  # each warehouse has its own locks, taken at its own times
        before.pop(seeded), after.pop(seeded)
    assert not differences(before, after)


def test_a_commit_that_conflicts_with_another_writer_is_retried_and_both_windows_land(lake_env, tmp_path):
    """Two writers on one lake replace disjoint windows of one table: DuckLake refuses the second
    commit (the table was deleted from since its transaction began); `retrying` rolls back, logs,
    and writes the window again."""
    target = warehouse.location(tmp_path / "home")
    with warehouse.connect(target) as first, warehouse.connect(target) as second:
        first.execute("insert into raw_purges select date '2026-01-01' + i::int, 1, 0, now() from range(40) t(i)")
        attempts, said = [], []

        def window(con, day: str, rows: int):
            con.execute("delete from raw_purges where log_date = $d", {"d": day})
            con.execute("insert into raw_purges values ($d, $n, 0, now())", {"d": day, "n": rows})

        def write_first() -> str:
            attempts.append(1)
            window(first, "2026-01-05", 100)
            if len(attempts) == 1:  # the other run commits its own window meanwhile
                warehouse.retrying(second, lambda: window(second, "2026-01-20", 200), "second")
            return "done"

        assert warehouse.retrying(first, write_first, "first window", log=said.append, base_seconds=0.01) == "done"
    assert len(attempts) == 2, "the conflicting commit was written again"
    assert len(said) == 1 and said[0].startswith("first window: the commit conflicted") and "retry 1 of 7" in said[0]
    with warehouse.connect(target, read_only=True) as con:
        assert con.execute("select count(*), sum(raw_rows) from raw_purges").fetchall() == [(40, 38 + 100 + 200)]


def test_retrying_does_not_repeat_a_write_that_failed_for_another_reason(tmp_path):
    import duckdb

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        attempts = []

        def bad() -> None:
            attempts.append(1)
            con.execute("insert into raw_purges values (date '2026-01-01', 1, 0, now())")
            con.execute("select 1 / 'x'")

        with pytest.raises(duckdb.Error):
            warehouse.retrying(con, bad, "bad")
        assert attempts == [1] and con.execute("select count(*) from raw_purges").fetchall() == [(0,)]


def test_clean_logs_on_a_lake_commits_days_in_chunks_and_matches_the_embedded_file(tmp_path, monkeypatch):
    """On a DuckLake, clean_window commits consecutive days together (so a conflicting commit
    repeats only their inserts, never the scrub); with a tiny chunk size, the result equals the
    embedded file's one-transaction window, a purged day kept included."""
    from datetime import date

    from pipeline.checksums import table_checksums
    from pipeline.logs.ingest import ingest_window
    from pipeline.privacy import cleaning
    from pipeline.privacy.anonymize import Anonymizer
    from tests.conftest import record

    logs = tmp_path / "source" / "logs"
    logs.mkdir(parents=True)
    (logs / "a.jsonl").write_text("\n".join(json.dumps(record(f"r{i}", ts=f"2026-05-{1 + i % 20:02d}T10:00:00Z"))
                                            for i in range(400)) + "\n")
    monkeypatch.setattr(cleaning, "COMMIT_ROWS", 45)  # three days (20 rows each) a chunk
    commits: list[str] = []
    real_retrying = cleaning.retrying

    def counting(con, write, what, *args, **kwargs):
        commits.append(what)
        return real_retrying(con, write, what, *args, **kwargs)

    monkeypatch.setattr(cleaning, "retrying", counting)
    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    monkeypatch.setenv(warehouse.LAKE_DATA_VAR, str(tmp_path / "data"))
    results = {}
    for name, target in {"embedded": tmp_path / "w.duckdb",
                         "lake": warehouse.parse("ducklake:sqlite:" + str(tmp_path / "c.sqlite"),
                                                 str(tmp_path / "data"), tmp_path)}.items():
        with warehouse.connect(target) as con:
            ingest_window(con, tmp_path / "source", date(2026, 5, 1), date(2026, 6, 1))
            cleaning.clean_window(con, Anonymizer(b"k"), date(2026, 5, 1), date(2026, 5, 10))
            assert cleaning.purge_raw(con, today=date(2026, 6, 10), keep_days=30).days == 9
            done = cleaning.clean_window(con, Anonymizer(b"k"), date(2026, 5, 1), date(2026, 6, 1))
            assert (done.rows, done.kept_purged, done.days) == (400 - 9 * 20, 9, 31 - 9)
            results[name] = {t: c for t, c in table_checksums(con).items() if t in ("clean_logs", "pii_replacements")}
        windows = [w for w in commits if w.startswith("clean_logs")]
        commits.clear()
        # both backends: the first window's 9 days in 3 chunks, then 05-01..05-12 (the purged
        # days kept), 05-13..15, 05-16..18, and 05-19..05-31 (the days after 05-20 have no rows)
        assert len(windows) == 3 + 4, windows
    assert results["lake"]["clean_logs"]["rows"] == 400
    assert not differences(results["embedded"], results["lake"])


def test_a_purge_by_another_run_never_empties_the_clean_rows_this_run_is_replacing(tmp_path, monkeypatch):
    """The interleaving a break-it review found on a shared lake: run B's clean_logs step purges
    raw text after run A's clean_window read which days were purged but before A scrubbed them;
    A then scrubbed nothing and replaced the days' clean rows with nothing. Now A reads the
    purged days again inside its transaction and keeps them."""
    from datetime import date

    from pipeline.logs.ingest import ingest_window
    from pipeline.privacy import cleaning
    from pipeline.privacy.anonymize import Anonymizer
    from tests.conftest import record

    logs = tmp_path / "source" / "logs"
    logs.mkdir(parents=True)
    (logs / "a.jsonl").write_text("\n".join(json.dumps(record(f"r{i}", ts=f"2026-05-{1 + i % 9:02d}T10:00:00Z"))
                                            for i in range(90)) + "\n")
    target = warehouse.parse("ducklake:sqlite:" + str(tmp_path / "c.sqlite"), str(tmp_path / "data"), tmp_path)
    window = (date(2026, 5, 1), date(2026, 5, 10))
    with warehouse.connect(target) as con:
        ingest_window(con, tmp_path / "source", *window)
        cleaning.clean_window(con, Anonymizer(b"k"), *window)
    real = cleaning._scrubbed_days

    def purged_meanwhile(con, anonymizer, days):
        with warehouse.connect(target) as other:  # the other run's purge commits now
            assert cleaning.purge_raw(other, today=date(2026, 7, 1), keep_days=30).days == 9
        return real(con, anonymizer, days)

    monkeypatch.setattr(cleaning, "_scrubbed_days", purged_meanwhile)
    with warehouse.connect(target) as con:
        cleaning.clean_window(con, Anonymizer(b"k"), *window)
        assert con.execute("select count(*) from clean_logs").fetchall() == [(90,)]
        assert con.execute("select count(*) from raw_logs").fetchall() == [(0,)]


def test_a_day_ingested_again_since_it_was_cleaned_is_not_purged(tmp_path):
    """Its clean rows still match the raw count, but they predate the new raw text: purging it
    would leave the run that re-ingested it (maybe with corrections) nothing to clean."""
    from datetime import date

    from pipeline.logs.ingest import ingest_window
    from pipeline.privacy import cleaning
    from pipeline.privacy.anonymize import Anonymizer
    from tests.conftest import record

    logs = tmp_path / "source" / "logs"
    logs.mkdir(parents=True)
    (logs / "a.jsonl").write_text("\n".join(json.dumps(record(f"r{i}", ts="2026-05-02T10:00:00Z")) for i in range(5)))
    window = (date(2026, 5, 1), date(2026, 5, 10))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ingest_window(con, tmp_path / "source", *window)
        cleaning.clean_window(con, Anonymizer(b"k"), *window)
        ingest_window(con, tmp_path / "source", *window)  # again: new ingested_at, same count
        assert cleaning.purge_raw(con, today=date(2026, 7, 1), keep_days=30).days == 0
        cleaning.clean_window(con, Anonymizer(b"k"), *window)
        assert cleaning.purge_raw(con, today=date(2026, 7, 1), keep_days=30).days == 1


# ---- found by a break-it review of the lake backend -------------------------------------------

@pytest.mark.parametrize("text, secret", [("host=db password=top\\ secret dbname=x", "secret"),
                                          ('host=db password=top"secret dbname=x', "secret"),
                                          ("host=db password='top secret' dbname=x", "secret"),
                                          ("postgresql://me:top%20secret@db/x", "secret")])
def test_every_form_of_a_libpq_password_is_hidden(text, secret):
    hidden = warehouse.hide_passwords(text)
    assert secret not in hidden and "***" in hidden and "dbname=x" in hidden or hidden.endswith("@db/x")


def test_a_wrong_role_is_a_connection_error_not_a_missing_warehouse(postgres, tmp_path):
    lake = warehouse.Lake(f"ducklake:postgres:host=127.0.0.1 port={postgres.port} user=nosuchrole dbname=postgres",
                          str(tmp_path / "d") + "/", tmp_path / "spill")
    with pytest.raises(warehouse.WarehouseConfigError, match="nosuchrole"):
        lake.exists()


def test_a_space_after_the_sqlite_prefix_is_not_a_folder_named_space(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lake = warehouse.parse("ducklake:sqlite: " + str(tmp_path / "c.sqlite"), str(tmp_path / "d"), tmp_path)
    assert lake.catalog == "ducklake:sqlite:" + str(tmp_path / "c.sqlite")


def test_a_lake_home_without_the_variable_says_so_instead_of_starting_an_empty_warehouse(tmp_path, monkeypatch):
    lake = warehouse.parse("ducklake:sqlite:" + str(tmp_path / "c.sqlite"), str(tmp_path / "d"), tmp_path / "home")
    with warehouse.connect(lake):
        pass
    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    with pytest.raises(warehouse.WarehouseConfigError, match="keeps its warehouse in a DuckLake"):
        warehouse.location(tmp_path / "home")
    (tmp_path / "home" / warehouse.LAKE_MARKER).unlink()  # as the message says: start an embedded one
    assert warehouse.location(tmp_path / "home") == tmp_path / "home" / "warehouse.duckdb"


def test_migrate_refuses_a_file_that_holds_anything_else_a_folder_or_not_duckdb(tmp_path):
    import duckdb

    from pipeline.migrate import MigrateError, migrate

    source = tmp_path / "w.duckdb"
    with warehouse.connect(source) as con:
        con.execute("insert into raw_purges values (date '2026-01-01', 1, 0, now())")
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("create table my_important (x int)")
    (tmp_path / "notes.txt").write_text("hello")
    for target, says in ((foreign, "holds other tables"), (tmp_path, "is a folder"),
                         (tmp_path / "notes.txt", "not a DuckDB database")):
        with pytest.raises(MigrateError, match=says):
            migrate(source, target)
    with duckdb.connect(str(foreign), read_only=True) as con:  # untouched
        assert con.execute("select count(*) from duckdb_tables()").fetchall() == [(1,)]
    assert migrate(source, tmp_path / "new" / "w.duckdb").rows["raw_purges"] == 1


def test_migrate_prints_a_line_that_can_be_pasted(tmp_path):
    import os
    import shlex
    import subprocess
    import sys

    home = tmp_path / "home"
    with warehouse.connect(home / "warehouse.duckdb"):
        pass
    odd = tmp_path / "o'brien dir"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "migrate", "--home", str(home), "--to",
                          f"ducklake:sqlite:{odd}/c.sqlite", "--lake-data", str(tmp_path / "my lake")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    line = next(li for li in out.stdout.splitlines() if li.startswith("to use it: export "))
    pairs = dict(word.split("=", 1) for word in shlex.split(line.removeprefix("to use it: export ")))
    assert pairs == {"EVALFUNNEL_WAREHOUSE": f"ducklake:sqlite:{odd}/c.sqlite",
                     "EVALFUNNEL_LAKE_DATA": str(tmp_path / "my lake") + "/"}


def test_a_users_edits_to_the_instance_config_are_kept_and_an_earlier_version_is_updated(tmp_path, monkeypatch):
    import subprocess

    from pipeline import environment

    for var in ("EVALFUNNEL_HOME", "DAGSTER_HOME"):  # prepare() sets them: restored after the test
        monkeypatch.setenv(var, str(tmp_path / "elsewhere"))
    monkeypatch.delenv(warehouse.WAREHOUSE_VAR, raising=False)
    home = environment.prepare(tmp_path / "home")
    config = home.dagster_home / "dagster.yaml"
    edited = config.read_text() + "run_retries:\n  enabled: true\n"
    config.write_text(edited)
    environment.prepare(tmp_path / "home")
    assert config.read_text() == edited
    repo = Path(__file__).parents[2]
    first = subprocess.run(["git", "log", "--format=%H", "--", "dagster.yaml"], cwd=repo, capture_output=True,
                           text=True).stdout.split()
    if first:  # the version the first commit shipped, as an older home holds it, is brought up to date
        config.write_bytes(subprocess.run(["git", "show", f"{first[-1]}:dagster.yaml"], cwd=repo,
                                          capture_output=True).stdout)
        environment.prepare(tmp_path / "home")
        assert config.read_bytes() == environment.instance_config(lake=False)


def test_dev_refuses_a_wrong_warehouse_setting_before_starting_the_ui(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env[warehouse.WAREHOUSE_VAR] = "ducklake:sqlit:/x"
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "dev", "--home", str(tmp_path / "h"), "--port", "1"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "is not a warehouse" in out.stderr
