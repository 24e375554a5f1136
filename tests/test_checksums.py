"""pipeline/checksums.py: order-independent table checksums and their per-table differences."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.checksums import Volatile, differences, table_checksum, table_checksums


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("""create table t (id integer, x double, "at" timestamptz, tags struct(k varchar, w double)[], j json,
                                 origin varchar)""")
    return c


ROWS = [
    (1, 0.1 + 0.2, "2026-05-01 10:00:00+00", [{"k": "a", "w": 1 / 3}], '{"a": 1}', "pipeline"),
    (2, -0.0, "2026-05-02 10:00:00+00", None, None, "imported"),
    (3, None, None, [], "[]", "pipeline"),
]


def fill(con, rows) -> dict:
    con.execute("delete from t")
    con.executemany("insert into t values (?, ?, ?, ?, ?, ?)", rows)
    return table_checksums(con, volatile={})


def test_row_order_float_noise_and_negative_zero_do_not_matter(con):
    before = fill(con, ROWS)
    # reversed; 0.1 + 0.2 summed the other way round (0.30000000000000004 vs 0.3); 0.0 for -0.0;
    # 1/3 with its last bits changed
    after = fill(con, [(3, None, None, [], "[]", "pipeline"),
                       (2, 0.0, "2026-05-02 12:00:00+02", None, None, "imported"),
                       (1, 0.3, "2026-05-01 10:00:00+00", [{"k": "a", "w": 1 / 3 * (1 + 4e-16)}], '{"a": 1}', "pipeline")])
    assert before == after and differences(before, after) == []
    assert before["t"]["rows"] == 3 and set(before["t"]["columns"]) == {"id", "x", "at", "tags", "j", "origin"}


def test_a_tie_of_decimal_rounding_is_no_boundary(con):
    # 141/64 = 2.203125 lies on a 6-digit decimal tie: two runs gave 2.203124999999999 and
    # 2.2031250000000004 (2.20312 and 2.20313); on the binary grid it is a grid point
    before = fill(con, [(1, 2.203124999999999, None, [], None, None)])
    assert fill(con, [(1, 2.2031250000000004, None, [], None, None)]) == before
    assert fill(con, [(1, 1e-300, None, [], None, None)]) != fill(con, [(1, 0.0, None, [], None, None)])
    assert fill(con, [(1, 1e-305, None, [], None, None)]) == fill(con, [(1, 0.0, None, [], None, None)])
    assert fill(con, [(1, float("nan"), None, [], None, None)]) != fill(con, [(1, float("inf"), None, [], None, None)])


def test_timestamps_do_not_depend_on_the_session_time_zone(con):
    before = fill(con, ROWS)
    con.execute("set TimeZone = 'America/New_York'")
    assert table_checksums(con, volatile={}) == before


def test_a_changed_value_names_its_table_and_column(con):
    before = fill(con, ROWS)
    after = fill(con, [ROWS[0][:1] + (0.30001,) + ROWS[0][2:], *ROWS[1:]])
    assert differences(before, after) == ["t: rows 3 -> 3; values differ in: x"]
    nested = fill(con, [ROWS[0][:3] + ([{"k": "a", "w": 0.3334}],) + ROWS[0][4:], *ROWS[1:]])
    assert differences(before, nested) == ["t: rows 3 -> 3; values differ in: tags"]


def test_duplicates_count_and_rows_are_compared_whole(con):
    before = fill(con, ROWS)
    twice = fill(con, [*ROWS, ROWS[2]])
    assert differences(before, twice) == ["t: rows 3 -> 4; values differ in: at, id, j, origin, tags, x"]
    # the same values in each column, paired differently in the rows
    swapped = fill(con, [ROWS[0][:5] + ("imported",), ROWS[1][:5] + ("pipeline",), ROWS[2]])
    assert differences(before, swapped) == ["t: rows 3 -> 3; every column holds the same values, but the rows pair them differently"]


def test_volatile_columns_are_left_out_or_compared_where_stable(con):
    con.executemany("insert into t values (?, ?, ?, ?, ?, ?)", ROWS)
    whole = {"at": Volatile("written at")}
    partly = {"at": Volatile("written at", "origin = 'pipeline'")}
    before = {"t": table_checksum(con, "t", volatile=whole)}, {"t": table_checksum(con, "t", volatile=partly)}
    assert "checksum" not in before[0]["t"]["columns"]["at"] and before[0]["t"]["columns"]["at"]["volatile"] == "written at"
    con.execute("""update t set "at" = now() where origin = 'pipeline'""")
    assert differences(before[0], {"t": table_checksum(con, "t", volatile=whole)}) == []
    assert differences(before[1], {"t": table_checksum(con, "t", volatile=partly)}) == []
    con.execute("""update t set "at" = now() where origin = 'imported'""")  # a stable row changed: seen
    assert differences(before[1], {"t": table_checksum(con, "t", volatile=partly)}) == ["t: rows 3 -> 3; values differ in: at"]
    assert differences(before[0], {"t": table_checksum(con, "t", volatile={})}) == [
        "t: rows 3 -> 3; volatile differently (regenerate the checksums after changing VOLATILE): at"]


def test_missing_new_and_retyped_tables_and_columns(con):
    before = fill(con, ROWS)
    con.execute("alter table t alter id type bigint")
    con.execute("alter table t drop column j")
    con.execute("alter table t add column y integer")
    con.execute("create table u (a integer)")
    assert differences(before, table_checksums(con, volatile={})) == [
        "t: rows 3 -> 3; columns missing: j; new columns: y; types changed: id INTEGER -> BIGINT",
        "u: new table (0 rows)"]
    assert differences({**before, "gone": {"rows": 5, "checksum": "", "columns": {}}}, before) == ["gone: missing (expected 5 rows)"]
