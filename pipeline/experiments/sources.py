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


def _readable(con: duckdb.DuckDBPyConnection, fmt: str, paths: list[str], columns: dict[str, str],
              required: tuple[str, ...]) -> tuple[list[str], int, list[str], list[tuple[str, str]]]:
    """The files DuckDB's reader reads whole and their row count; the CSV and JSONL files it
    cannot (a malformed line, a ragged row: read line by line instead, so the other rows load and
    the bad ones are kept with their line and why); and the files not readable at all, with the
    reason. One file that is not what its name says (an empty or cut Parquet file) must not fail
    the rest.

    All the files are counted in one scan first: the build needs the count anyway, and for CSV
    and JSONL that is the only extra read when nothing is wrong. Only when that scan fails is
    each file tried alone (Parquet on its first row; CSV and JSONL read through, as their errors
    can be anywhere). A CSV file whose sniffed columns lack a required one is read line by line
    too: one ragged row makes DuckDB's sniffer take the whole header for one column."""
    candidates, by_line = [], []
    for path in paths:
        if Path(path).stat().st_size == 0:
            continue  # an empty file holds no rows: nothing to read, nothing wrong
        if fmt == "csv":  # the sniffer reads a sample, not the file
            try:
                sniffed = _scan(con, fmt, [path], columns).columns
            except duckdb.Error:
                by_line.append(path)
                continue
            if not set(required) <= set(_matching(sniffed, columns)):
                by_line.append(path)
                continue
        candidates.append(path)
    if not candidates:
        return [], 0, by_line, []
    try:
        return candidates, _count(_scan(con, fmt, candidates, columns)), by_line, []
    except duckdb.Error:
        pass  # some file is bad: find which
    good, bad, rows = [], [], 0
    for path in candidates:
        try:
            scan = _scan(con, fmt, [path], columns)
            if fmt == "parquet":
                scan.limit(1).fetchall()
            else:
                rows += _count(scan)
            good.append(path)
        except duckdb.Error as exc:
            if fmt == "parquet":
                bad.append((path, str(exc).strip().splitlines()[0][:300]))
            else:
                by_line.append(path)
    if fmt == "parquet" and good:
        rows = _count(_scan(con, fmt, good, columns))  # from the files' footers
    return good, rows, by_line, bad


def _count(rel: duckdb.DuckDBPyRelation) -> int:
    return rel.aggregate("count(*)").fetchall()[0][0]


def _by_line(con: duckdb.DuckDBPyConnection, fmt: str, path: str, columns: dict[str, str]) -> duckdb.DuckDBPyRelation:
    """A CSV or JSONL file read line by line by the log reader (pipeline/logs/ingest.py), each
    row a JSON text or a read error: the contract's columns (matched as in `_matching`) as text,
    `filename`, and `_line_problem`, why the row cannot be used (null for a good row)."""
    import pyarrow as pa

    from pipeline.logs.ingest import LINE_SCHEMA, SourceFile, line_tables

    file = Path(path)
    stat = file.stat()
    kind = "csv" if fmt == "csv" else ("jsonl.gz" if file.name.lower().endswith(".gz") else "jsonl")
    tables = list(line_tables(con, SourceFile(file, path, kind, stat.st_size, stat.st_mtime_ns)))
    lines = pa.concat_tables(tables) if tables else LINE_SCHEMA.empty_table()
    # a temp table, not the Arrow table registered: the source views cannot read a Python object
    name = f"_lines_{abs(hash(path))}"
    con.register("_lines_arrow", lines)
    try:
        con.execute(f"create or replace temp table {name} as select * from _lines_arrow")  # noqa: S608  (own name)
    finally:
        con.unregister("_lines_arrow")
    keys = [k for (k,) in con.sql(f"select distinct unnest(json_keys(text)) from {name} "  # noqa: S608  (own name)
                                  "where read_error is null and json_valid(text) and json_type(text) = 'OBJECT'").fetchall()]
    found = _matching(keys, columns)
    fields = [f"case when read_error is null and json_valid(text) then json_extract_string(text, {_literal(_json_path(key))}) "
              f"end as {_identifier(key)}" for key in found.values()]
    problem = ("case when read_error is not null then read_error "
               "|| case when read_error like '%line %' then '' else ' (line ' || line_no || ')' end "
               "when not json_valid(text) or json_type(text) <> 'OBJECT' then 'not a JSON object (line ' || line_no || ')' end")
    return con.sql(f"select {', '.join([*fields, 'source_file as filename', problem + ' as _line_problem'])} "  # noqa: S608
                   f"from {name}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_path(key: str) -> str:
    """The JSONPath of one top-level key, whatever characters it holds."""
    return "$." + '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def register_source(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> tuple[int, int, list[tuple[str, str]]]:
    """Create the temp view `src_<name>` over every readable file in `folder`; returns the file
    count, the view's row count and the files that could not be read, with why. An empty folder
    gives an empty view with the same columns."""
    columns, required = (ASSIGNMENTS, REQUIRED[name]) if name == "assignments" else (EVENTS, REQUIRED[name])
    files = source_files(folder)
    parts, unreadable = [], []
    scans = []
    rows = 0
    for fmt, all_paths in files.items():
        paths, counted, by_line, bad = _readable(con, fmt, all_paths, columns, required)
        unreadable += bad
        rows += counted
        if paths:
            scans.append((fmt, _scan(con, fmt, paths, columns)))
        for path in by_line:
            scans.append((fmt, _by_line(con, fmt, path, columns)))
            rows += _count(scans[-1][1])
    for fmt, rel in scans:
        names = _matching([c for c in rel.columns if c != "_line_problem"], columns)
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
        problems = ["when _line_problem is not null then _line_problem"] if "_line_problem" in rel.columns else []
        problems += [f"when true then 'missing column {c}'" for c in required if c not in present]
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
    return sum(len(p) for p in files.values()), rows, unreadable
