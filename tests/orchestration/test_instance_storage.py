"""The instance's SQLite storage: WAL databases commit without an fsync each, and Dagster's
connection-per-operation does not checkpoint the WAL at every close (pipeline/instance_storage)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from pipeline import instance_storage


def _engine(path: Path, wal: bool) -> sa.Engine:
    with sqlite3.connect(path) as con:
        con.execute("create table if not exists t (x)")
        con.execute(f"pragma journal_mode = {'wal' if wal else 'delete'}")
    return sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)  # as Dagster creates its storages


def _synchronous(engine: sa.Engine) -> int:
    with engine.connect() as con:
        return con.exec_driver_sql("pragma synchronous").scalar()


def test_wal_databases_get_normal_sync_and_others_keep_full(tmp_path):
    instance_storage.install()
    instance_storage.install()  # idempotent: one listener
    assert _synchronous(_engine(tmp_path / "wal.db", wal=True)) == 1  # NORMAL
    assert _synchronous(_engine(tmp_path / "journal.db", wal=False)) == 2  # FULL, untouched


def test_closing_dagsters_connection_does_not_checkpoint_the_wal(tmp_path):
    instance_storage.install()
    engine = _engine(tmp_path / "events.db", wal=True)
    for i in range(20):
        with engine.begin() as con:
            con.exec_driver_sql("insert into t values (?)", (i,))
    # the WAL is still there (an idle connection is held): the closes above did not checkpoint it
    assert (tmp_path / "events.db-wal").exists() and (tmp_path / "events.db-wal").stat().st_size > 0
    with sqlite3.connect(tmp_path / "events.db") as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 20


def test_held_connections_are_bounded(tmp_path):
    instance_storage.install()
    for i in range(instance_storage.KEEP_OPEN + 5):
        _synchronous(_engine(tmp_path / f"run-{i}.db", wal=True))
    assert len(instance_storage._keepers) <= instance_storage.KEEP_OPEN
    assert str(tmp_path / f"run-{instance_storage.KEEP_OPEN + 4}.db") in instance_storage._keepers
