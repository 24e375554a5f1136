"""`evalfunnel migrate --to`: copy a warehouse into another backend (embedded file <-> DuckLake).

A team starts on the embedded file and moves to a shared lake (or back, or to a new file): every
table of the schema is copied by column name, in one transaction on the target, into a target
that holds no rows yet (created on the spot; a lake's tables are created in its catalog). Then
both sides are compared table by table with the order-independent checksums of
pipeline/checksums.py (row counts and every column); a difference is an error, and the source is
never written. Tables the source does not have (an older version) stay empty; tables it has that
the schema no longer lists are named and left behind. write_locks is not copied: every
warehouse seeds its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.checksums import differences, table_checksums
from pipeline.warehouse import SCHEMA, SEEDED, Lake, attach, connect


class MigrateError(RuntimeError):
    """The copy cannot start (same warehouse, a target with rows) or did not come out equal."""


class Unverified(MigrateError):
    """The copy was committed to the target but not verified (stopped, or a difference)."""

    def __init__(self, target: Path | Lake, why: str) -> None:
        where = target.display if isinstance(target, Lake) else str(target)
        super().__init__(f"the copy into {where} was committed but not verified: {why}. Do not use it as it is: "
                         f"empty it (a new file, or a new catalog database) and migrate again")


@dataclass
class Migrated:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    left_behind: list[str] = field(default_factory=list)  # source tables the schema does not list
    seconds: float = 0.0


def _same(a: Path | Lake, b: Path | Lake) -> bool:
    if isinstance(a, Lake) or isinstance(b, Lake):
        return isinstance(a, Lake) and isinstance(b, Lake) and a.catalog == b.catalog
    return Path(a).resolve() == Path(b).resolve()


def _tables(con, database: str) -> list[str]:
    return [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = $d and "
                                      "schema_name = 'main' and not temporary order by 1", {"d": database}).fetchall()]


def _check_new_file(target: Path) -> None:
    """A file target must be new, or an evalfunnel warehouse without rows: never a file holding
    anything else (its tables would be written into), a folder, or not a DuckDB file at all."""
    if target.is_dir():
        raise MigrateError(f"{target} is a folder: give the path of a new DuckDB file (e.g. {target / 'warehouse.duckdb'})")
    if not target.exists():
        return
    import duckdb

    try:
        with duckdb.connect(str(target), read_only=True) as con:
            tables = {t: con.execute(f'select count(*) from "{t}"').fetchall()[0][0]  # noqa: S608  (catalog names)
                      for (t,) in con.execute("select table_name from duckdb_tables() where not temporary").fetchall()}
    except duckdb.Error as exc:
        raise MigrateError(f"{target} exists and is not a DuckDB database evalfunnel can write "
                           f"({str(exc).strip().splitlines()[0][:200]}): give the path of a new file") from None
    foreign = sorted(set(tables) - set(SCHEMA))
    if foreign:
        raise MigrateError(f"{target} exists and holds other tables ({', '.join(foreign[:5])}"
                           f"{', ...' if len(foreign) > 5 else ''}): give the path of a new file")


def migrate(source: Path | Lake, target: Path | Lake, say: Callable[[str], None] = lambda _: None) -> Migrated:
    if _same(source, target):
        raise MigrateError("the source and the target are the same warehouse")
    if not isinstance(target, Lake):
        _check_new_file(Path(target))
    t0 = time.perf_counter()
    out = Migrated()
    with connect(target) as con:  # creates the schema's tables in the target
        into = con.execute("select current_database()").fetchall()[0][0]
        filled = [t for t in SCHEMA if t not in SEEDED and con.execute(f'select count(*) from "{t}"').fetchall()[0][0]]  # noqa: S608
        if filled:
            raise MigrateError(f"the target already holds rows in {len(filled)} table(s) ({', '.join(filled[:5])}"
                               f"{', ...' if len(filled) > 5 else ''}): migrate into an empty warehouse")
        attach(con, source, "migrate_source", read_only=True)
        present = set(_tables(con, "migrate_source"))
        out.left_behind = sorted(present - set(SCHEMA))
        copied = [t for t in SCHEMA if t in present and t not in SEEDED]  # the target has its own locks
        con.execute("begin")
        try:
            for i, table in enumerate(copied, 1):
                [(n,)] = con.execute(f'insert into "{into}".main."{table}" by name '  # noqa: S608  (schema names)
                                     f'select * from migrate_source.main."{table}"').fetchall()
                out.rows[table] = n
                say(f"  {i}/{len(copied)} {table}: {n:,} rows")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        say("verifying: row counts and checksums of every copied table on both sides ...")
        try:
            after = {t: c for t, c in table_checksums(con, volatile={}).items() if t in out.rows}
            con.execute("use migrate_source")
            before = {t: c for t, c in table_checksums(con, volatile={}).items() if t in out.rows}
            con.execute(f'use "{into}"')
        except BaseException as exc:
            raise Unverified(target, f"the check was stopped ({type(exc).__name__}: {str(exc).strip()[:200]})") from exc
    diff = differences(before, after)
    if diff:
        raise Unverified(target, f"{len(diff)} table(s) differ:\n  " + "\n  ".join(diff))
    out.seconds = time.perf_counter() - t0
    return out
