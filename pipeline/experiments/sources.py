"""Assignments and events from the source folder, as DuckDB views typed by the contract.

Files may be Parquet, CSV or JSONL (optionally gzipped), in any sub-folder. Each view has the
contract's columns plus `valid`, `problem`, `source_file` and the typed columns as written
(`raw_<column>`): a row missing a required field, with an unreadable timestamp, or with a value
that is not a finite number (NaN, infinity, text) is kept with its problem (and counted: invalid
assignments in assignment_issues, invalid events in event_rejects), never silently dropped.
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


def _matching(names: list[str], columns: dict[str, str]) -> dict[str, str]:
    """Contract column -> the file's name for it: case and surrounding spaces do not matter
    (`Value`, ` value`, `VALUE` are all the contract's `value`)."""
    found = {n.strip().lower(): n for n in names}
    return {c: found[c] for c in columns if c in found}


def _scan(con: duckdb.DuckDBPyConnection, fmt: str, paths: list[str], columns: dict[str, str]) -> duckdb.DuckDBPyRelation:
    if fmt == "parquet":
        return con.read_parquet(paths, filename=True, union_by_name=True)
    if fmt == "csv":
        return con.read_csv(paths, header=True, all_varchar=True, filename=True, union_by_name=True)
    # JSON keys are matched exactly by the reader: find the file's spelling of each contract key
    # first, then read those keys as text (a typed guess would turn a stray "abc" into an error)
    try:
        keys = con.read_json(paths, format="newline_delimited", union_by_name=True).columns
    except duckdb.Error:  # the typed guess failed: read the contract's spelling as text
        keys = list(columns)
    wanted = {key: "VARCHAR" for key in _matching(keys, columns).values()} or {c: "VARCHAR" for c in columns}
    return con.read_json(paths, format="newline_delimited", filename=True, union_by_name=True, columns=wanted)


def _readable(con: duckdb.DuckDBPyConnection, fmt: str, paths: list[str], columns: dict[str, str]
              ) -> tuple[list[str], list[tuple[str, str]]]:
    """The files DuckDB can open (a first row read), and the others with the reason. One file
    that is not what its name says (an empty or cut Parquet file) must not fail the rest."""
    good, bad = [], []
    for path in paths:
        if Path(path).stat().st_size == 0:
            continue  # an empty file holds no rows: nothing to read, nothing wrong
        try:
            _scan(con, fmt, [path], columns).limit(1).fetchall()
            good.append(path)
        except duckdb.Error as exc:
            bad.append((path, str(exc).strip().splitlines()[0][:300]))
    return good, bad


def register_source(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> tuple[int, list[tuple[str, str]]]:
    """Create the temp view `src_<name>` over every readable file in `folder`; returns the file
    count and the files that could not be read, with why. An empty folder gives an empty view
    with the same columns."""
    columns, required = (ASSIGNMENTS, REQUIRED[name]) if name == "assignments" else (EVENTS, REQUIRED[name])
    files = source_files(folder)
    parts, unreadable = [], []
    for fmt, all_paths in files.items():
        paths, bad = _readable(con, fmt, all_paths, columns)
        unreadable += bad
        if not paths:
            continue
        rel = _scan(con, fmt, paths, columns)
        names = _matching(rel.columns, columns)
        present = set(names)

        def col(c: str) -> str:  # the file's column, quoted; text trimmed ("a, b, c" CSVs), blank is missing
            quoted = '"' + names[c].replace('"', '""') + '"'
            return f"nullif(trim({quoted}), '')" if fmt != "parquet" and columns[c] == "varchar" else quoted

        exprs = [f'try_cast({col(c)} as {t}) as "{c}"' if c in present else f'null::{t} as "{c}"'
                 for c, t in columns.items()]
        exprs.append('"filename" as source_file')
        # the typed columns as written, so a reject shows what was there
        exprs += [f'{col(c)}::varchar as "raw_{c}"' if c in present else f'null::varchar as "raw_{c}"'
                  for c, t in columns.items() if t != "varchar"]
        raw_ts = [c for c, t in columns.items() if t == "timestamptz" and c in present]
        problems = [f"when true then 'missing column {c}'" for c in required if c not in present]
        problems += [f"when {col(c)} is null then 'missing {c}'" for c in required if c in present and c not in raw_ts]
        # 'infinity' is a timestamp to DuckDB, but no instant: it has no epoch and no window
        problems += [f"when {col(c)} is null then 'missing {c}' when try_cast({col(c)} as timestamptz) is null "
                     f"then 'unreadable {c}' when not isfinite(try_cast({col(c)} as timestamptz)) "
                     f"then '{c} is not a finite time'" for c in raw_ts if c in required]
        # an optional number that is there must be a finite one: NaN or "abc" summed into a metric
        # would poison every moment of the arm (or count as 1)
        problems += [f"when {col(c)} is not null and try_cast({col(c)} as double) is null then 'unreadable {c}' "
                     f"when not isfinite(try_cast({col(c)} as double)) then '{c} is not a finite number'"
                     for c, t in columns.items() if t == "double" and c in present]
        exprs.append(f"case {' '.join(problems)} end as problem")
        parts.append(rel.select(", ".join(exprs)))
    if parts:
        union = parts[0]
        for p in parts[1:]:
            union = union.union(p)
        union.select("*, problem is null as valid").create_view(f"src_{name}", replace=True)
    else:
        empty = ", ".join([f'null::{t} as "{c}"' for c, t in columns.items()]
                          + [f'null::varchar as "raw_{c}"' for c, t in columns.items() if t != "varchar"])
        con.sql(f"select {empty}, null::varchar as source_file, null::varchar as problem, true as valid "
                "where false").create_view(f"src_{name}", replace=True)
    return sum(len(p) for p in files.values()), unreadable
