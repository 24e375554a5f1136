"""Dagster wiring: the instance's storage.

The instance's dagster.yaml names `SqliteStorage` (Dagster's SQLite storage, the same
files under DAGSTER_HOME) with `EventLogStorage`: Dagster's SQLite event log builds a SQLAlchemy
engine for every operation, and a new engine compiles every statement again (its statement cache
starts empty). A backfill stores ~4.5 events per partition and asset check, each one 2-4
operations on two databases (the run's and the cross-run index): in a 184-day daily_ingest
backfill on one core the event log took 16 s of 62 under cProfile. This one keeps an engine per
database file (still a fresh SQLite connection per operation: NullPool, as Dagster's), so the
statements are compiled once: 2.2 ms an event instead of 4.6 on one core (bench/event_log.py),
about 3.5 s of that backfill's ~1,500 events.

The SQLite connection settings every evalfunnel process uses (synchronous=NORMAL, idle
connections held) are pipeline/instance_storage.py's, which has no Dagster.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage as _DagsterEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._utils import mkdir_p
from watchdog.events import PatternMatchingEventHandler

from pipeline.instance_storage import release

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Engine

ENGINES_KEPT = 16  # engines per storage (a run's database, the index): a long-lived webserver reads many runs


class EventLogStorage(_DagsterEventLogStorage):
    """Dagster's SQLite event log (the same files, schema and locking) with one SQLAlchemy engine
    per database file, kept for the storage's life (the last ENGINES_KEPT), instead of one per
    operation. Connections are still opened and closed per operation (NullPool, as Dagster's), so
    other processes writing the same files are seen as before; a database Dagster deletes and
    recreates (wipe, upgrade) is initialized again as Dagster decides (`_initialized_dbs`).
    Overrides Dagster's private `_connect` and `has_table`: tests/orchestration/
    test_instance_storage.py checks them against the pinned Dagster (<1.14)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            self._engines[shard] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        # Dagster's, with a watchdog that also wakes on the run database's WAL (below)
        if not self._obs:
            from watchdog.observers import Observer

            self._obs = Observer()
            self._obs.start()
        watchdog = _WalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def wipe(self) -> None:
        release(self._base_dir)
        super().wipe()

    def has_table(self, table_name: str) -> bool:
        # asked before every asset event's tags are stored; a table, once there, stays
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found


class _WalWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's run-log watcher (the webserver's live logs) wakes when `<run>.db` changes. A
    process that holds an idle connection to the run's database (install(): run workers do)
    stops Dagster's closes from checkpointing, so a commit changes only `<run>.db-wal` until a
    checkpoint: the live logs stalled until the writer exited (and for good when the watching
    process held one). This one wakes on either file."""

    def __init__(self, event_log_storage: Any, run_id: str, callback: Any, cursor: str | None) -> None:
        super().__init__(event_log_storage, run_id, callback, cursor)
        self._files = (self._log_path, self._log_path + "-wal")
        PatternMatchingEventHandler.__init__(self, patterns=list(self._files))

    def on_modified(self, event: Any) -> None:
        if event.src_path in self._files:
            self._process_log()

    def on_created(self, event: Any) -> None:
        self.on_modified(event)


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite instance storage (runs, event logs, schedules in the same folders under
    `base_dir`) with `EventLogStorage` as its event log. The connection settings above stay with
    the processes that load the definitions (install() is called there), not every process that
    opens the instance (the webserver reads far more databases than it writes)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = EventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> SqliteStorage:
        mkdir_p(config_value["base_dir"])
        return cls(config_value["base_dir"], inst_data=inst_data)
