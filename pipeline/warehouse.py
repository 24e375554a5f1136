"""The warehouse: connections with the project's settings, SQL files, and schema.

Two backends run the same `sql/` files (issue 17):
- the embedded file (the default): one DuckDB file, `$EVALFUNNEL_HOME/warehouse.duckdb`; DuckDB
  allows one writer per file, so every writing step waits in the `duckdb_writer` pool;
- a DuckLake lakehouse, when `EVALFUNNEL_WAREHOUSE` is `ducklake:postgres:<libpq connection
  string>` (a team's shared catalog) or `ducklake:sqlite:<path>` (one host), with
  `EVALFUNNEL_LAKE_DATA` the folder or object-store prefix for its Parquet files. Each
  connection is an in-memory DuckDB that attaches the lake as `lake` and uses it, so every
  worker computes in its own process and commits to the shared catalog. The extensions come
  from their PyPI packages (pipeline/extensions.py), never downloaded. A password belongs in
  PGPASSWORD or ~/.pgpass (libpq reads both), not in the string; `Lake.display` hides one anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import duckdb

from pipeline.progress import CONSOLE_VAR

T = TypeVar("T")


def sql_root() -> Path:
    """`sql/` ships inside the wheel as pipeline/sql; in a source checkout it sits at the top."""
    packaged = Path(__file__).parent / "sql"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "sql"


@cache
def statement(name: str) -> str:
    """The text of `sql/<name>.sql`: one statement, named parameters, no string-built values
    (a `schema/` file may follow its create with `alter table ... add column if not exists`
    statements, so warehouses made by an older version gain the new columns on connect)."""
    path = sql_root() / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"missing SQL file {path}")
    return path.read_text()


WAREHOUSE_FILE = "warehouse.duckdb"
SCHEMA = ("raw_logs", "log_rejects", "log_partitions", "log_files", "log_file_scans", "raw_purges", "clean_logs",
          "pii_replacements",           "regression_set", "regression_set_history", "eval_set", "eval_set_versions", "eval_set_changes",
          "judge_cache", "judge_spend", "judge_scores", "judgment_rejects", "candidate_responses", "pairwise_judgments",
          "variant_ratings", "pareto_frontier", "experiment_samples", "regression_results",
          "generation_cache", "experiment_users", "user_metrics", "user_segments", "assignment_issues", "event_rejects",
          "experiment_results", "experiment_summary", "human_labels", "label_rejects", "judge_human_agreement",
          "judge_drift", "judge_anchors", "judge_anchor_scores", "offline_online", "offline_online_correlation",
          "calibration_history", "calibration_forecast", "candidate_scores", "write_locks", "label_queue", "ppi_estimates")
SEEDED = ("write_locks",)  # tables whose schema file inserts their rows: every warehouse has them
# on a DuckLake, tables read a day at a time are partitioned by their day (set when created)
LAKE_PARTITIONED = {"raw_logs": "log_date", "log_rejects": "log_date", "clean_logs": "log_date"}


THREADS_VAR = "EVALFUNNEL_DUCKDB_THREADS"


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    threads = os.environ.get(THREADS_VAR, "").strip()
    if threads:  # a worker given a share of a machine (DuckDB's default: every core it sees)
        if not threads.isdigit() or int(threads) < 1:
            raise WarehouseConfigError(f"{THREADS_VAR}={threads!r}: give a whole number of threads, 1 or more")
        con.execute("set threads = $n", {"n": int(threads)})


@contextlib.contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection with the warehouse's settings, for work that writes nothing."""
    con = duckdb.connect()
    try:
        _configure(con)
        yield con
    finally:
        con.close()


class WarehouseFormatError(RuntimeError):
    """The warehouse file was written by a newer DuckDB than the one installed (DuckDB reads
    older files, never newer ones): evalfunnel before issue 17 ran on DuckDB 2.0."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} was written by a newer DuckDB than the installed {duckdb.__version__} (evalfunnel "
                         f"moved from DuckDB 2.0 to {duckdb.__version__}, the version its extensions exist for)")
        self.path = path
        self.hint = ("rebuild it: move it aside and run `evalfunnel run` again (the judge cache goes with it), or "
                     "copy it into the older format once with DuckDB 2.0: in a separate venv with duckdb==2.0.1, "
                     "ATTACH the old file READ_ONLY and a new one with (STORAGE_VERSION 'v1.5.0'), then COPY FROM "
                     "DATABASE old TO new, and put the new file in its place")


WAREHOUSE_VAR = "EVALFUNNEL_WAREHOUSE"
LAKE_DATA_VAR = "EVALFUNNEL_LAKE_DATA"
LAKE_ALIAS = "lake"  # the name a connection attaches a DuckLake under, and uses
_CATALOG_SCANNERS = {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}
_OBJECT_STORES = ("s3://", "gs://", "gcs://", "r2://", "http://", "https://")


class WarehouseConfigError(ValueError):
    """EVALFUNNEL_WAREHOUSE or EVALFUNNEL_LAKE_DATA names no usable warehouse."""


@dataclass(frozen=True)
class Lake:
    """A DuckLake warehouse: its catalog (`ducklake:postgres:...` or `ducklake:sqlite:...`), where
    its Parquet files go, and a local folder for this process's spills."""

    catalog: str
    data_path: str
    spill: Path

    @property
    def kind(self) -> str:
        return self.catalog.split(":", 2)[1]

    @property
    def display(self) -> str:
        """The catalog as it may be printed or logged: a password in the string is hidden."""
        return hide_passwords(self.catalog)

    def __str__(self) -> str:
        return f"{self.display} (data in {self.data_path})"

    def exists(self, *, writable: bool = False) -> bool:
        """Whether the catalog holds evalfunnel's tables (a run has created them). `writable`:
        asked by a command about to write, whose later connections then reuse this attach (an
        attach costs ~0.5 s); like the read-only question it creates nothing: no table, no
        DuckLake in a catalog that has none (a mistyped path to another program's database)."""
        if self.kind == "sqlite" and not Path(self.catalog.split(":", 2)[2]).exists():
            return False
        try:
            with _lake_connection(self, not writable, _memory(None), create=False) as con:
                return bool(con.execute("select count(*) from information_schema.tables where table_catalog = 'lake' "
                                        "and table_name = 'raw_logs'").fetchall()[0][0])
        except WarehouseConfigError as exc:
            if re.search(r"(?i)existing ducklake .* does not exist", str(exc)):  # a catalog with no DuckLake yet
                return False
            raise


def hide_passwords(text: str) -> str:
    """`text` with libpq passwords hidden: `password=...` pairs and `scheme://user:...@` URLs
    (DuckDB's errors quote the connection string)."""
    hidden = re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|(?:[^\s\\]|\\.)+)", r"\1***", text)
    return re.sub(r"(?i)(\w+://[^:/@\s]*:)[^@\s]*@", r"\1***@", hidden)


def shared_limits_dsn() -> str | None:
    """The PostgreSQL server every worker reaches (a DuckLake's catalog), where judge rate limits
    are shared; None on the embedded file or a SQLite catalog (one host: limits per process)."""
    raw = os.environ.get(WAREHOUSE_VAR, "").strip()
    return raw.split(":", 2)[2] if raw.startswith("ducklake:postgres:") else None


LAKE_MARKER = "warehouse.lake"  # in a home whose warehouse is a lake: which one (no password)


def location(home: Path) -> Path | Lake:
    """The warehouse EVALFUNNEL_WAREHOUSE selects: unset, the embedded file in `home`; else a lake.
    A home that has written to a lake and holds no embedded file says so when the variable is
    unset, instead of quietly starting a second, empty warehouse beside the lake."""
    raw = os.environ.get(WAREHOUSE_VAR, "").strip()
    if raw:
        return parse(raw, os.environ.get(LAKE_DATA_VAR, ""), home)
    marker = home / LAKE_MARKER
    if marker.exists() and not (home / WAREHOUSE_FILE).exists():
        used = marker.read_text(encoding="utf-8", errors="replace").strip()
        raise WarehouseConfigError(f"the home {home} keeps its warehouse in a DuckLake ({used}) but {WAREHOUSE_VAR} "
                                   f"is not set: export {WAREHOUSE_VAR} and {LAKE_DATA_VAR} again (to start an "
                                   f"embedded warehouse in this home instead, delete {marker})")
    return home / WAREHOUSE_FILE


def parse(raw: str, data: str, home: Path, *, setting: str = WAREHOUSE_VAR,
          data_setting: str = LAKE_DATA_VAR) -> Path | Lake:
    """A warehouse named by `raw`: `ducklake:postgres:...` or `ducklake:sqlite:...` (with `data`,
    where its Parquet files go), or the path of a DuckDB file (`migrate --to` takes one)."""
    raw = raw.strip()
    if not raw.startswith("ducklake:") and setting != WAREHOUSE_VAR:
        return Path(raw).expanduser().resolve()
    parts = raw.split(":", 2)
    if len(parts) < 3 or parts[0] != "ducklake" or parts[1] not in _CATALOG_SCANNERS or not parts[2].strip():
        raise WarehouseConfigError(f"{setting}={hide_passwords(raw)!r} is not a warehouse: unset it for the embedded "
                                   "file, or give ducklake:postgres:<libpq connection string> or "
                                   "ducklake:sqlite:<catalog file>")
    data = data.strip()
    if not data:
        raise WarehouseConfigError(f"{setting} names a DuckLake catalog, so {data_setting} must say where its "
                                   "Parquet files go: a folder every worker sees, or s3://bucket/prefix")
    if not data.startswith(_OBJECT_STORES):
        data = str(Path(data).expanduser().resolve())
    if not data.endswith("/"):
        data += "/"
    if parts[1] == "sqlite":
        raw = f"ducklake:sqlite:{Path(parts[2].strip()).expanduser().resolve()}"
    return Lake(raw, data, home / "lake.tmp")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def connect(path: str | Path | Lake, *, read_only: bool = False,
            memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection in UTC with bounded memory to the embedded file or a lake; DuckDB spills to
    a temp folder beside the file (for a lake, in the home). Writers create missing tables."""
    memory = _memory(memory_limit)
    if isinstance(path, Lake):
        with _lake_connection(path, read_only, memory) as con:
            yield con
        return
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "database file with version number" in str(exc):
            raise WarehouseFormatError(path) from exc
        raise
    try:
        _configure(con)
        # values as parameters: a home path may hold any character (a quote in `--home` once broke every command)
        con.execute("set memory_limit = $v", {"v": memory})
        con.execute("set temp_directory = $v", {"v": str(path.parent / (path.name + ".tmp"))})
        if not read_only:
            _ensure_schema(con)
        yield con
    finally:
        con.close()


def _memory(limit: str | None) -> str:
    return limit or os.environ.get("EVALFUNNEL_DUCKDB_MEMORY", "1GB")


@dataclass
class _LakeInstance:
    """A process's DuckDB instance with one lake attached: its connections are cursors of `con`."""

    con: duckdb.DuckDBPyConnection
    memory: str
    users: int = 0
    schema_checked: bool = False
    failed: bool = False


# A lake connection costs ~0.37 s to open (the extensions' LOAD ~0.16 s, the catalog's ATTACH
# ~0.19 s) and a run opens ~14: each process keeps one instance per lake and mode (read-only
# connections get a read-only instance of their own: they must not write) and hands out cursors
# of it, which cost ~1 ms. Keyed by the lake, the mode, and the variables the attach reads
# (credentials, libpq's PG*). The schema is checked once per instance: a table another process
# drops meanwhile is made again by the next process, not this one.
_LAKE_INSTANCES: OrderedDict[tuple, _LakeInstance] = OrderedDict()
_LAKE_LOCK = threading.Lock()  # guards the dict only: an attach (a slow catalog) holds its key's lock
_ATTACH_LOCKS: dict[tuple, threading.Lock] = {}
_INHERITED: list[_LakeInstance] = []  # a forked child's copies: never used, never closed (closing one crashed)
LAKE_INSTANCES_KEPT = 2  # idle instances beyond this many are closed (a test process meets many lakes)
_ATTACH_VARIABLES = ("AWS_", "GCS_", "GOOGLE_", "AZURE_", "PG")


def _forget_lakes_in_child() -> None:
    global _LAKE_LOCK
    _INHERITED.extend(_LAKE_INSTANCES.values())
    _LAKE_INSTANCES.clear()
    _ATTACH_LOCKS.clear()
    _LAKE_LOCK = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forget_lakes_in_child)


def _lake_key(lake: Lake, read_only: bool) -> tuple:
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ATTACH_VARIABLES)))
    return lake, read_only, os.environ.get(THREADS_VAR, ""), variables


def _new_instance(lake: Lake, read_only: bool, memory: str, create: bool) -> _LakeInstance:
    instance = _LakeInstance(_attach_lake(lake, read_only, create), memory)
    try:
        _configure(instance.con)
        instance.con.execute("set memory_limit = $v", {"v": memory})
        instance.con.execute("set temp_directory = $v", {"v": str(lake.spill)})
    except BaseException:
        instance.con.close()
        raise
    return instance


def _checkout(key: tuple, lake: Lake, read_only: bool, memory: str,
              create: bool) -> tuple[_LakeInstance, duckdb.DuckDBPyConnection, bool]:
    """The key's instance (attached now if there is none; `fresh` says so) and a cursor of it."""
    with _LAKE_LOCK:
        attach_lock = _ATTACH_LOCKS.setdefault(key, threading.Lock())
    with attach_lock:
        with _LAKE_LOCK:
            instance = _LAKE_INSTANCES.get(key)
        fresh = instance is None
        if fresh:
            instance = _new_instance(lake, read_only, memory, create)
        with _LAKE_LOCK:
            if fresh:
                _LAKE_INSTANCES[key] = instance
            elif _LAKE_INSTANCES.get(key) is instance:  # not dropped as failed meanwhile
                _LAKE_INSTANCES.move_to_end(key)
            instance.users += 1
            try:
                return instance, instance.con.cursor(), fresh
            except BaseException:
                instance.users -= 1
                raise


@contextlib.contextmanager
def _lake_connection(lake: Lake, read_only: bool, memory: str, *,
                     create: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the process's instance for the lake and mode. A writer creates what is missing
    (the DuckLake in its catalog, evalfunnel's tables) unless `create` is false; an instance
    attached without creating is the same as any other once the lake exists."""
    key = _lake_key(lake, read_only)
    for attempt in (1, 2):
        instance, con, fresh = _checkout(key, lake, read_only, memory, create)
        try:
            con.execute(f"use {LAKE_ALIAS}")
            _configure(con)
            break
        except duckdb.Error:
            # a kept instance may have gone stale (its catalog's server restarted, the catalog
            # file replaced): drop it and attach once more
            con.close()
            instance.failed = True
            _release(key, instance)
            if fresh or attempt == 2:
                raise
    try:
        try:
            if memory != instance.memory:  # an instance-wide setting: the latest caller's bound
                con.execute("set memory_limit = $v", {"v": memory})
                instance.memory = memory
            if not read_only and create:
                _remember_lake(lake)
                if not instance.schema_checked:
                    _ensure_schema(con)
                    instance.schema_checked = True
            yield con
        finally:
            con.close()
    except duckdb.Error:
        # the instance may be what failed (the catalog's server restarted, a dropped connection):
        # the next connection attaches afresh; costs one attach after any database error
        instance.failed = True
        raise
    finally:
        _release(key, instance)


def _release(key: tuple, instance: _LakeInstance) -> None:
    with _LAKE_LOCK:
        instance.users -= 1
        if instance.failed and _LAKE_INSTANCES.get(key) is instance:
            del _LAKE_INSTANCES[key]
        idle = [k for k, v in _LAKE_INSTANCES.items() if not v.users]
        for k in idle[:max(0, len(_LAKE_INSTANCES) - LAKE_INSTANCES_KEPT)]:
            _LAKE_INSTANCES.pop(k).con.close()
        if instance.failed and not instance.users:
            instance.con.close()


def close_lakes() -> None:
    """Close this process's idle lake instances (their catalog connections): for tests and for
    a process about to stop the catalog's server."""
    with _LAKE_LOCK:
        for key in [k for k, v in _LAKE_INSTANCES.items() if not v.users]:
            _LAKE_INSTANCES.pop(key).con.close()


@cache
def _schema_columns() -> dict[str, frozenset[str]]:
    """Every schema table's columns, as the schema files make them (in a scratch database)."""
    with contextlib.closing(duckdb.connect()) as con:
        for table in SCHEMA:
            con.execute(statement(f"schema/{table}"))
        rows = con.execute("select table_name, column_name from duckdb_columns() "
                           "where database_name = current_database()").fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return {table: frozenset(names) for table, names in columns.items()}


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and add missing columns: a schema file runs only when its table or
    one of its columns is absent (and always for a seeded table, whose rows it inserts). One
    catalog query instead of ~80 statements matters on a lake, where each is a round trip to
    the catalog's server (~0.4 s per writer connection before)."""
    present: dict[str, set[str]] = {}
    for table, column in con.execute("select table_name, column_name from duckdb_columns() "
                                      "where database_name = current_database()").fetchall():
        present.setdefault(table, set()).add(column)
    expected = _schema_columns()
    lake = is_lake(con)
    for table in SCHEMA:
        if table in SEEDED or not expected[table] <= present.get(table, set()):
            con.execute(statement(f"schema/{table}"))
            if lake and table in LAKE_PARTITIONED and table not in present:
                # a day's rows in files of their own: the per-day reads (clean_logs reads raw_logs a day
                # at a time, the residue check clean_logs) open only that day's files instead of
                # decoding every file's text pages (60 day reads of 200k rows: 4.1 s -> 0.8 s)
                con.execute(f"alter table {table} set partitioned by ({LAKE_PARTITIONED[table]})")


def _remember_lake(lake: Lake) -> None:
    """Mark the home (the spill folder's parent) as one whose warehouse is this lake."""
    marker = lake.spill.parent / LAKE_MARKER
    text = f"{lake.display}, data in {lake.data_path}\n"
    try:
        if not marker.exists() or marker.read_text(encoding="utf-8", errors="replace") != text:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(text, encoding="utf-8")
    except OSError:
        pass  # a read-only home still works; only the reminder is lost


def _attach_lake(lake: Lake, read_only: bool, create: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` and in use."""
    con = duckdb.connect()
    try:
        attach(con, lake, LAKE_ALIAS, read_only=read_only, create=create)
        con.execute(f"use {LAKE_ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def attach(con: duckdb.DuckDBPyConnection, target: Path | Lake, alias: str, *, read_only: bool,
           create: bool = True) -> None:
    """Attach a warehouse (a DuckDB file or a lake) to `con` as `alias`; a writer attaching a lake
    with `create` false fails as a reader would where the catalog holds no DuckLake, and makes
    no folder."""
    if not isinstance(target, Lake):
        if read_only and not Path(target).exists():
            raise WarehouseConfigError(f"no warehouse at {target}")
        con.execute(f"attach {_literal(str(target))} as {alias}" + (" (read_only)" if read_only else ""))
        return
    from pipeline import extensions

    needed = ["ducklake", _CATALOG_SCANNERS[target.kind]]
    if target.data_path.startswith(_OBJECT_STORES):
        needed.append("httpfs")
    extensions.load(con, *needed)
    if target.data_path.startswith(_OBJECT_STORES):  # the store's credentials, from AWS_*/GCS_* variables
        from pipeline.logs.remote import add_secret

        add_secret(con, target.data_path)
    if target.kind == "sqlite" and not read_only and create:
        try:
            Path(target.catalog.split(":", 2)[2]).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseConfigError(f"the lake's catalog folder for {target.display} cannot be used: "
                                       f"{exc.strerror or exc}") from None
    if not target.data_path.startswith(_OBJECT_STORES) and not read_only and create:
        try:
            Path(target.data_path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseConfigError(f"the lake's data folder {target.data_path} cannot be used: "
                                       f"{exc.strerror or exc}") from None
    # ATTACH takes no parameters; both strings are quoted as SQL literals
    options = (f"data_path {_literal(target.data_path)}" + (", read_only" if read_only else "")
               + ("" if read_only or create else ", create_if_not_exists false"))
    try:
        con.execute(f"attach {_literal(target.catalog)} as {alias} ({options})")
    except duckdb.Error as exc:  # the message may quote the connection string: show it hidden
        raise WarehouseConfigError(f"cannot attach the DuckLake warehouse {target.display}: "
                                   + hide_passwords(str(exc))) from None


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` works on a DuckLake (attached as `lake` by `connect`), not the embedded file."""
    return con.execute("select current_database()").fetchall()[0][0] == LAKE_ALIAS


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor (another connection to the same database, for another thread) that reads and
    writes where `con` does: a cursor starts in the default database, and on a lake that is
    the in-memory one, not the attached lake. Settings are per connection, so the cursor gets
    the warehouse's (UTC: a local time zone once dated naive timestamps otherwise in a scan)."""
    cur = con.cursor()
    _configure(cur)
    database = con.execute("select current_database()").fetchall()[0][0]
    if database != cur.execute("select current_database()").fetchall()[0][0]:
        cur.execute(f'use "{database}"')  # noqa: S608  (a catalog's own name)
    return cur


def table_counts(path: str | Path, tables: tuple[str, ...]) -> dict[str, int | None]:
    """Row counts for a summary; None for a table that does not exist yet."""
    counts: dict[str, int | None] = {}
    with connect(path, read_only=True) as con:
        existing = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        for t in tables:
            # identifiers come from the caller's constant tuple, never from data
            counts[t] = con.execute(f'select count(*) from "{t}"').fetchone()[0] if t in existing else None
    return counts


def insert_rows(con: duckdb.DuckDBPyConnection, sql: str, rows: list) -> int:
    """`executemany` that accepts an empty list (DuckDB refuses one): a stage with nothing to
    write still succeeds. Returns the number of rows inserted."""
    if rows:
        con.executemany(sql, rows)
    return len(rows)


# what another writer's commit looks like to ours: DuckLake's conflict check (a table deleted from
# by a transaction that committed first), a SQLite catalog's lock, PostgreSQL's serialization
_CONFLICTS = ("transaction conflict", "database is locked", "could not serialize", "deadlock detected")
RETRY_ATTEMPTS = 8
_log = logging.getLogger("evalfunnel.warehouse")


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(marker in str(exc).lower() for marker in _CONFLICTS)


def retrying(con: duckdb.DuckDBPyConnection, write: Callable[[], T], what: str,
             log: Callable[[str], None] | None = None, attempts: int = RETRY_ATTEMPTS, base_seconds: float = 0.25) -> T:
    """Run `write` (a partition window's deletes and inserts) as one transaction. On a lake,
    runs on disjoint partitions compute at the same time and commit to one catalog: a commit that
    conflicts with another writer's (DuckLake refuses to insert into a table another transaction
    deleted from since ours began) is rolled back and `write` runs again from the start, after an
    exponential backoff with jitter, each retry logged. Anything else propagates at once. The
    embedded file has one writer and never conflicts. `write` must be safe to repeat: delete the
    window, then insert it."""
    for attempt in range(1, attempts + 1):
        con.execute("begin transaction")
        try:
            result = write()
            con.execute("commit")
            return result
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):  # a failed commit has ended the transaction already
                con.execute("rollback")
            if not is_conflict(exc) or attempt == attempts:
                raise
            wait = base_seconds * 2 ** (attempt - 1) * (0.5 + random.random())
            message = (f"{what}: the commit conflicted with another writer ({str(exc).strip().splitlines()[-1][:160]}); "
                       f"retry {attempt} of {attempts - 1} in {wait:.2f}s")
            (log or _log.warning)(message)
            if os.environ.get(CONSOLE_VAR) == "1":  # `evalfunnel run`/`backfill`: on the console too
                print(f"  {message}", file=sys.stderr, flush=True)
            time.sleep(wait)
    raise AssertionError("unreachable")
