"""The embedded Dagster instance's SQLite storage, made cheap to write to.

Dagster's SQLite storages (the run, event log and schedule databases under DAGSTER_HOME) are in
WAL mode, but every connection uses SQLite's default `synchronous=FULL`, and Dagster opens and
closes a connection per operation: each commit waits for an fsync, and each close of the last
connection to a file checkpoints the WAL (more fsyncs) and deletes it. A one-month daily_ingest
run writes about 280 events (materializations per partition, check evaluations, log lines) and
did about 2.8 fsyncs per event; at 5-20 ms per fsync on a virtual disk, seconds of every run
(issue 15, bench/end_to_end.py). Measured on a 100-log-line job: 985 fsyncs, 356 with this.

So, in processes that import the definitions (the CLI, run workers, the code server):
- connections to a database in WAL mode get `synchronous=NORMAL`: SQLite syncs at checkpoints,
  not at each commit. SQLite's documentation: the database cannot be corrupted this way; after
  a power loss (not a process crash) the last transactions may roll back. The run history is not
  the data (the warehouse is DuckDB), and a run whose record was lost is run again. Databases in
  rollback-journal mode are left alone (there NORMAL could corrupt on power loss);
- one idle connection per recent WAL database stays open, so Dagster's closes are never the last
  one: SQLite checkpoints when the WAL reaches 1000 pages, and when the holder closes.


The instance's storage classes (dagster.yaml) are in pipeline/dagster_storage.py.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections import OrderedDict

KEEP_OPEN = 8  # idle connections held at most (a run's shard database, the index, runs, schedules)
_lock = threading.Lock()
_keepers: OrderedDict[str, sqlite3.Connection] = OrderedDict()
_installed = False


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        # the file first (in memory, 0.02 ms): a file already known to be in WAL mode skips the
        # journal-mode query, which reads the file's header (0.3 ms, on every Dagster operation)
        path = cursor.execute("pragma database_list").fetchone()[2]
        if path not in _keepers:
            mode = cursor.execute("pragma journal_mode").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                return
        cursor.execute("pragma synchronous = NORMAL")
    finally:
        cursor.close()
    if path:
        _keep_open(path)


def _keep_open(path: str) -> None:
    with _lock:
        if path in _keepers:
            _keepers.move_to_end(path)
            return
        keeper = sqlite3.connect(path, check_same_thread=False)
        keeper.execute("select count(*) from sqlite_master").fetchone()  # reading attaches it to the WAL
        _keepers[path] = keeper
        while len(_keepers) > KEEP_OPEN:
            _keepers.popitem(last=False)[1].close()


def release(folder: str) -> None:
    """Close the idle connections held to databases under `folder` (before Dagster deletes them:
    a held connection kept a deleted file's space until it was evicted)."""
    prefix = os.path.join(os.path.abspath(folder), "")
    with _lock:
        for path in [p for p in _keepers if os.path.abspath(p).startswith(prefix)]:
            _keepers.pop(path).close()


def release_all() -> None:
    """Close every idle connection held: the last connection to a database in WAL mode folds the
    WAL into the file and deletes it, so a copy of the `.db` files alone holds every run (the
    `evalfunnel` program ends without the interpreter's teardown, which used to close them)."""
    with _lock:
        while _keepers:
            _keepers.popitem(last=False)[1].close()


def install() -> None:
    """Listen for every new SQLAlchemy connection in this process (idempotent); the connections
    held are closed at exit."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _on_connect)
    atexit.register(release_all)
    _installed = True
