"""The DuckDB warehouse: connections with the project's settings, SQL files, and schema."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb


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
SCHEMA = ("raw_logs", "log_rejects", "log_partitions", "log_files", "raw_purges", "clean_logs", "pii_replacements",
          "regression_set", "regression_set_history", "eval_set", "eval_set_versions", "eval_set_changes",
          "judge_cache", "judge_spend", "judge_scores", "judgment_rejects", "candidate_responses", "pairwise_judgments",
          "variant_ratings", "pareto_frontier", "experiment_samples", "regression_results",
          "generation_cache", "experiment_users", "user_metrics", "user_segments", "assignment_issues", "event_rejects",
          "experiment_results", "experiment_summary", "human_labels", "label_rejects", "judge_human_agreement",
          "judge_drift", "judge_anchors", "judge_anchor_scores", "offline_online", "offline_online_correlation",
          "calibration_history", "calibration_forecast", "candidate_scores")


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")


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


@contextlib.contextmanager
def connect(path: str | Path, *, read_only: bool = False, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection in UTC with bounded memory; DuckDB spills to a temp folder beside the file."""
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
        con.execute("set memory_limit = $v", {"v": memory_limit or os.environ.get("EVALFUNNEL_DUCKDB_MEMORY", "1GB")})
        con.execute("set temp_directory = $v", {"v": str(path.parent / (path.name + ".tmp"))})
        if not read_only:
            for table in SCHEMA:
                con.execute(statement(f"schema/{table}"))
        yield con
    finally:
        con.close()


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


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything inside commits together or not at all."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
