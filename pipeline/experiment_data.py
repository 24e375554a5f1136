"""Assignments and events from the source folder, as DuckDB views typed by the contract.

Files may be Parquet, CSV or JSONL (optionally gzipped), in any sub-folder. Each view has the
contract's columns plus `valid`, `problem` and `source_file`: a row missing a required field or
with an unreadable timestamp is kept with its problem (and counted), never silently dropped.
Parquet is read as it is typed (no text round trip), so 50M events scan at DuckDB's speed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

ASSIGNMENTS = {"experiment_id": "varchar", "user_id": "varchar", "variant": "varchar", "assigned_at": "timestamptz"}
EVENTS = {"user_id": "varchar", "timestamp": "timestamptz", "event": "varchar", "value": "double"}
REQUIRED = {"assignments": ("experiment_id", "user_id", "variant", "assigned_at"), "events": ("user_id", "timestamp", "event")}
_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json", ".ndjson": "json"}


def _format(path: Path) -> str | None:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return _FORMATS.get(suffixes[-1]) if suffixes else None


def source_files(folder: Path) -> dict[str, list[str]]:
    """Files under `folder` by format; anything else is ignored."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        fmt = _format(path) if path.is_file() else None
        if fmt:
            found.setdefault(fmt, []).append(str(path))
    return found


def register_source(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> int:
    """Create the temp view `src_<name>` over every file in `folder`; returns the file count.
    An empty folder gives an empty view with the same columns."""
    columns, required = (ASSIGNMENTS, REQUIRED[name]) if name == "assignments" else (EVENTS, REQUIRED[name])
    files = source_files(folder)
    parts = []
    for fmt, paths in files.items():
        if fmt == "parquet":
            rel = con.read_parquet(paths, filename=True, union_by_name=True)
        elif fmt == "csv":
            rel = con.read_csv(paths, header=True, all_varchar=True, filename=True, union_by_name=True)
        else:
            rel = con.read_json(paths, format="newline_delimited", filename=True, union_by_name=True,
                                columns={c: "VARCHAR" for c in columns})
        present = set(rel.columns)
        exprs = [f'try_cast("{c}" as {t}) as "{c}"' if c in present else f'null::{t} as "{c}"' for c, t in columns.items()]
        exprs.append('"filename" as source_file')
        raw_ts = [c for c, t in columns.items() if t == "timestamptz" and c in present]
        problems = [f"when true then 'missing column {c}'" for c in required if c not in present]
        problems += [f"when \"{c}\" is null then 'missing {c}'" for c in required if c in present and c not in raw_ts]
        problems += [f"when \"{c}\" is null then 'missing {c}' when try_cast(\"{c}\" as timestamptz) is null "
                     f"then 'unreadable {c}'" for c in raw_ts if c in required]
        exprs.append(f"case {' '.join(problems)} end as problem")
        parts.append(rel.select(", ".join(exprs)))
    if parts:
        union = parts[0]
        for p in parts[1:]:
            union = union.union(p)
        union.select("*, problem is null as valid").create_view(f"src_{name}", replace=True)
    else:
        empty = ", ".join(f'null::{t} as "{c}"' for c, t in columns.items())
        con.sql(f"select {empty}, null::varchar as source_file, null::varchar as problem, true as valid "
                "where false").create_view(f"src_{name}", replace=True)
    return sum(len(p) for p in files.values())
