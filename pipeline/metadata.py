"""The Dagster-facing builders every stage's metadata shares: a warehouse table's column schema
and definition metadata (from pipeline/table_docs.py, the schema files' docs), and metadata
tables and lists built from rows, so the UI draws a table, not markdown pipes as text. Like each
stage's metadata.py, this is where Dagster is imported; table_docs stays pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from pipeline.table_docs import COMPANIONS, SHARED_WRITES, schema

# DuckDB names the attached warehouse.duckdb "warehouse"; tables live in its main schema
CATALOG = "warehouse.main"


def table_schema(table: str) -> dg.TableSchema:
    """A warehouse table's columns as Dagster shows them (Columns tab of the asset)."""
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.type, description=c.comment or None,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=c.primary_key,
                                                             other=["primary key"] if c.primary_key else []))
        for c in schema(table).columns])


def table_metadata(table: str) -> dict[str, object]:
    """Definition metadata for the asset that materializes `table`: its column schema and name, any
    notes from the schema file, and the tables it writes beside it (each with its own columns)."""
    meta: dict[str, object] = {"dagster/column_schema": table_schema(table), "dagster/table_name": f"{CATALOG}.{table}"}
    if schema(table).notes:
        meta["table_notes"] = md_list(schema(table).notes)
    companions = COMPANIONS.get(table, {})
    writes = {**companions, **SHARED_WRITES.get(table, {})}
    if writes:
        meta["also_writes"] = records_table([{"table": name, "holds": what} for name, what in writes.items()])
        for name in companions:  # a shared table's columns are on its own asset
            meta[f"columns_of_{name}"] = table_schema(name)
    return meta


# --- metadata tables from rows --------------------------------------------------------------------

_TYPES = ((bool, "bool"), (int, "int"), (float, "float"))


def _cell(value: object) -> str | int | float | bool | None:
    """A value a TableRecord accepts: numbers, text, booleans and None; dates as ISO text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def records_table(rows: Sequence[Mapping[str, object]], columns: Iterable[str] | None = None,
                  empty: str = "none") -> dg.MetadataValue:
    """Rows as a table the UI draws (column order from the first row, or `columns`); `empty` as
    text when there are no rows. Column types come from the values (string unless every value
    that is not None is a bool, an int or a float)."""
    names = list(columns) if columns is not None else list(rows[0]) if rows else []
    if not rows:
        return dg.MetadataValue.text(empty)
    cells = [{name: _cell(row.get(name)) for name in names} for row in rows]

    def kind(name: str) -> str:
        values = [r[name] for r in cells if r[name] is not None]
        for python, label in _TYPES:
            if values and all(isinstance(v, python) and (python is bool or not isinstance(v, bool)) for v in values):
                return label
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return "float"
        return "string"

    return dg.MetadataValue.table(records=[dg.TableRecord(r) for r in cells],
                                  schema=dg.TableSchema(columns=[dg.TableColumn(n, kind(n)) for n in names]))


def md_list(items: Iterable[object], empty: str = "none") -> dg.MetadataValue:
    """A bulleted list the UI renders as markdown; `empty` as text when there is nothing."""
    items = [str(i) for i in items]
    return dg.MetadataValue.md("\n".join(f"- {i}" for i in items)) if items else dg.MetadataValue.text(empty)
