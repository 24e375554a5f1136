"""Order-independent checksums of warehouse tables, to tell whether two warehouses hold the same data.

`table_checksums(con)` gives, for every base table of a schema, its row count, one checksum of
its rows and one checksum per column; `differences(expected, actual)` says, table by table, what
differs. Used by tests/e2e/test_demo_checksums.py (the demo's output tables must not change under
performance work, issue 15) and meant for any comparison of two warehouses, e.g. a copy made on
another backend and read back through DuckDB.

How a checksum is computed (DuckDB SQL, one scan per table):

* every value is put in a canonical form: DOUBLE and FLOAT rounded to `BITS` (20) significant
  binary digits (see Tolerance), also inside lists and structs; TIMESTAMPTZ as epoch
  microseconds (independent of the session's TimeZone); JSON columns as their text; everything
  else as DuckDB's `to_json` writes it;
* a row is the JSON object of its canonical values keyed by column name, in column-name order (so
  the table's column order does not matter); a column value is its JSON text ('null' for NULL);
* each row (and each column value) is hashed with MD5, of which the first 64 bits are read as an
  unsigned integer, and the integers are summed modulo 2^64: the result does not depend on the
  row order, and a duplicated row counts twice (unlike an XOR).

Tolerance: two doubles are equal when they round to the same 20 significant bits: steps of 2^-20
to 2^-19 relative (1e-6 to 2e-6, about 6 significant decimal digits). That absorbs the noise of a
reordered floating-point sum: three demo runs of the same code (813029f) already differed, as
DuckDB's threads add in varying order, by about 1e-12 relative in 1,500 doubles and up to 8e-10 in
tiny p-values (1e-211). Rounding has edges: a value whose noise straddles a rounding boundary
still differs; over the demo's noisy values that is expected about 0.36 times per comparison
at 9 decimal digits (a flaky test: it happened in the third run), about 0.001 at 20 bits. The
grid is binary, not decimal, because means of counts are often exact binary fractions lying on a decimal tie
(2.203125 = 141/64 read 2.20312 in one run and 2.20313 in the next at 6 digits); on a binary grid
such values are grid points, far from a boundary. Values under 2^-1000 in magnitude count as 0.
A real change below the 20th bit (about 1e-6 relative) goes unnoticed. Numbers inside JSON text
are not rounded (they compare as written). MD5 is the same in every DuckDB version (and in
Python's hashlib); DuckDB's own `hash()` may change between versions, which is why it is not used.

`VOLATILE` names the columns whose values change from one run of the same code on the same input
to the next (found by materializing the demo three times and diffing per-column checksums): they
are left out of the row checksum and their values are not compared, but their presence and type are;
a column volatile only in some rows (`Volatile.where`) is compared in the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

BITS = 20
MODULUS = 2**64


@dataclass(frozen=True)
class Volatile:
    """Why a column's values change between two runs of the same code on the same input; with
    `where` (a SQL condition on the row) only the rows where it holds are volatile, the others
    are compared (e.g. imported judgments keep their own judged_at)."""

    reason: str
    where: str | None = None


_NOW = "wall-clock time the row was written (now())"
_LATENCY = "measured wall time of the local judge's calls"

# Found by materializing the demo at 813029f in three homes (same code, same input) and diffing
# the per-column checksums: these columns, and only these, differed. now() timestamps, measured
# latencies and source-file mtimes in every run; offline_online_correlation's AUC interval in one
# run of the three (a defect, see there). Wall-clock columns of tables the demo leaves empty
# (event_rejects.rejected_at, judgment_rejects.rejected_at, generation_cache.created_at,
# raw_purges.purged_at) could not be observed and are not listed; should the demo fill them, they
# will show up as differing and belong here. No table is non-deterministic as a whole.
VOLATILE: dict[str, dict[str, Volatile]] = {
    "calibration_forecast": {"computed_at": Volatile(_NOW)},
    "calibration_history": {"computed_at": Volatile(_NOW)},
    "candidate_responses": {"loaded_at": Volatile(_NOW)},
    "candidate_scores": {"created_at": Volatile(_NOW)},
    "clean_logs": {"cleaned_at": Volatile(_NOW)},
    "eval_set": {"built_at": Volatile(_NOW)},
    "eval_set_versions": {"created_at": Volatile(_NOW)},
    "experiment_results": {"analyzed_at": Volatile(_NOW)},
    "experiment_summary": {"analyzed_at": Volatile(_NOW)},
    "human_labels": {"loaded_at": Volatile(_NOW)},
    "judge_anchor_scores": {"created_at": Volatile(_NOW)},
    "judge_anchors": {"frozen_at": Volatile(_NOW)},
    "judge_cache": {"created_at": Volatile(_NOW), "latency_ms": Volatile(_LATENCY)},
    "judge_drift": {"computed_at": Volatile(_NOW)},
    "judge_human_agreement": {"computed_at": Volatile(_NOW)},
    "label_queue": {"created_at": Volatile(_NOW)},
    # a budget scope is a new id per command (or the Dagster run's id), as is the run id
    "judge_spend": {"budget_scope": Volatile("a new id per command or Dagster run"),
                    "run_id": Volatile("the Dagster run's id"), "recorded_at": Volatile(_NOW)},
    # imported judgments keep their judged_at and have no latency: those rows are compared
    "judge_scores": {"created_at": Volatile(_NOW, "judge_version not like 'imported:%'"),
                     "latency_ms": Volatile(_LATENCY, "judge_version not like 'imported:%'")},
    "label_rejects": {"rejected_at": Volatile(_NOW)},
    "log_files": {"indexed_at": Volatile(_NOW),
                  "mtime_ns": Volatile("the source file's modification time (every demo home writes its source anew)")},
    "log_file_scans": {"scanned_at": Volatile(_NOW),
                       "mtime_ns": Volatile("the source file's modification time (every demo home writes its source anew)")},
    "log_partitions": {"ingested_at": Volatile(_NOW)},
    "write_locks": {"taken_at": Volatile(_NOW)},
    "log_rejects": {"rejected_at": Volatile(_NOW)},
    "offline_online": {"computed_at": Volatile(_NOW)},
    "offline_online_correlation": {"computed_at": Volatile(_NOW)},
    "pairwise_judgments": {"created_at": Volatile(_NOW, "origin = 'pipeline'")},  # imported rows: their judged_at
    "pareto_frontier": {"computed_at": Volatile(_NOW)},
    "ppi_estimates": {"computed_at": Volatile(_NOW)},
    "raw_logs": {"ingested_at": Volatile(_NOW)},
    "regression_results": {"evaluated_at": Volatile(_NOW)},
    "regression_set": {"loaded_at": Volatile(_NOW)},
    "regression_set_history": {"changed_at": Volatile(_NOW)},
    "variant_ratings": {"computed_at": Volatile(_NOW)},
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rounded(expr: str, bits: int) -> str:
    """`expr` (a double) rounded to `bits` significant bits, as text: scaling by powers of two is
    exact, so only round() rounds; -0.0 becomes 0.0 and NaN and infinities stay as they are."""
    x = f"cast({expr} as double)"
    exponent = f"floor(log2(abs({x})))"
    return (f"printf('%.17g', case when isnan({x}) or isinf({x}) then {x} when abs({x}) < pow(2.0, -1000) then 0.0 "
            f"else round({x} * pow(2.0, {bits - 1} - {exponent})) * pow(2.0, {exponent} - {bits - 1}) end + 0.0)")


def _canonical(expr: str, dtype: duckdb.typing.DuckDBPyType, bits: int, depth: int = 0) -> tuple[str, bool]:
    """A SQL expression of `expr` in canonical form, and whether it differs from `expr`."""
    kind = dtype.id
    if kind in ("double", "float"):
        return _rounded(expr, bits), True
    if kind == "timestamp with time zone":
        return f"epoch_us({expr})", True
    if str(dtype) == "JSON":
        return f"cast({expr} as varchar)", True
    if kind == "list":
        var = f"v{depth}"
        inner, changed = _canonical(var, dtype.children[0][1], bits, depth + 1)
        return (f"list_transform({expr}, lambda {var}: {inner})", True) if changed else (expr, False)
    if kind == "struct":
        fields = [(name, _canonical(f"({expr}).{_ident(name)}", t, bits, depth)) for name, t in dtype.children]
        if not any(changed for _, (_, changed) in fields):
            return expr, False
        packed = ", ".join(f"{_ident(name)} := {e}" for name, (e, _) in fields)
        return f"case when ({expr}) is null then null else struct_pack({packed}) end", True
    return expr, False


def _h(expr: str) -> str:
    """The first 64 bits of MD5(expr) as an unsigned integer."""
    return f"cast('0x' || left(md5({expr}), 16) as ubigint)"


def tables(con: duckdb.DuckDBPyConnection, schema: str = "main") -> list[str]:
    """The base tables of `schema` in the connection's current database, by name."""
    return [t for (t,) in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ? "
        "and not temporary order by table_name", [schema]).fetchall()]


def table_checksum(con: duckdb.DuckDBPyConnection, table: str, schema: str = "main",
                   volatile: dict[str, Volatile] | None = None, bits: int = BITS) -> dict:
    """{rows, checksum, columns: {name: {type, checksum}}} of one table. A volatile column has
    {type, volatile: reason} and is left out; a partly volatile one (`Volatile.where`) keeps a
    checksum of the rows where `where` does not hold, the others counting as NULL."""
    volatile = volatile or {}
    relation = con.table(f"{_ident(schema)}.{_ident(table)}")
    columns = sorted(zip(relation.columns, relation.dtypes), key=lambda c: c[0])
    compared = []
    for name, dtype in columns:
        canon = _canonical(_ident(name), dtype, bits)[0]
        if name not in volatile:
            compared.append((name, canon))
        elif volatile[name].where:
            compared.append((name, f"case when {volatile[name].where} then null else {canon} end"))
    row = ("to_json(struct_pack(" + ", ".join(f"{_ident(n)} := {e}" for n, e in compared) + "))") if compared else "'{}'"
    sums = [f"coalesce(sum({_h(row)}), 0) % {MODULUS}"]
    sums += [f"coalesce(sum({_h(f'coalesce(to_json({e}), {chr(39)}null{chr(39)})')}), 0) % {MODULUS}" for _, e in compared]
    count, *values = con.execute(f"select count(*), {', '.join(sums)} from {_ident(schema)}.{_ident(table)}").fetchone()
    by_name = {n: f"{int(v):016x}" for (n, _), v in zip(compared, values[1:])}
    described = {}
    for name, dtype in columns:
        described[name] = {"type": str(dtype)}
        if name in by_name:
            described[name]["checksum"] = by_name[name]
        if name in volatile:
            v = volatile[name]
            described[name]["volatile"] = v.reason + (f" (where {v.where})" if v.where else "")
    return {"rows": int(count), "checksum": f"{int(values[0]):016x}", "columns": described}


def table_checksums(con: duckdb.DuckDBPyConnection, schema: str = "main",
                    volatile: dict[str, dict[str, Volatile]] | None = None, bits: int = BITS) -> dict[str, dict]:
    """`table_checksum` of every base table of `schema` (views are not data: the demo's src_* views
    read the source files); `volatile` defaults to `VOLATILE`."""
    volatile = VOLATILE if volatile is None else volatile
    return {t: table_checksum(con, t, schema, volatile.get(t), bits) for t in tables(con, schema)}


def differences(expected: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    """One line per table that differs: rows before -> after and the columns that differ."""
    lines = []
    for table in sorted(expected.keys() | actual.keys()):
        if table not in actual:
            lines.append(f"{table}: missing (expected {expected[table]['rows']} rows)")
            continue
        if table not in expected:
            lines.append(f"{table}: new table ({actual[table]['rows']} rows)")
            continue
        before, after = expected[table], actual[table]
        cols_before, cols_after = before["columns"], after["columns"]
        problems = []
        if missing := sorted(cols_before.keys() - cols_after.keys()):
            problems.append(f"columns missing: {', '.join(missing)}")
        if added := sorted(cols_after.keys() - cols_before.keys()):
            problems.append(f"new columns: {', '.join(added)}")
        common = sorted(cols_before.keys() & cols_after.keys())
        if retyped := [f"{c} {cols_before[c]['type']} -> {cols_after[c]['type']}" for c in common
                       if cols_before[c]["type"] != cols_after[c]["type"]]:
            problems.append(f"types changed: {', '.join(retyped)}")
        if volatility := [c for c in common if cols_before[c].get("volatile") != cols_after[c].get("volatile")]:
            problems.append(f"volatile differently (regenerate the checksums after changing VOLATILE): {', '.join(volatility)}")
        if changed := [c for c in common if cols_before[c].get("checksum") != cols_after[c].get("checksum")
                       and c not in volatility]:
            problems.append(f"values differ in: {', '.join(changed)}")
        if before["checksum"] != after["checksum"] and not problems:
            problems.append("every column holds the same values, but the rows pair them differently")
        if problems or before["rows"] != after["rows"]:
            lines.append(f"{table}: rows {before['rows']} -> {after['rows']}; " + ("; ".join(problems) or "same values"))
    return lines
