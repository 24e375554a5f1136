"""A window's ingest skips files a timestamp-only scan puts outside it, and loads exactly what a
whole-range ingest loads for its days; files the scan cannot vouch for are read."""

from __future__ import annotations

import gzip
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.logs.ingest import ingest_window
from pipeline.warehouse import connect
from tests.conftest import record, write_jsonl

MAY = (date(2026, 5, 1), date(2026, 6, 1))
MTIME = 1_779_000_000  # 2026-05-17: inside the source's days, so undated files land on one


def _day(n: int) -> date:
    return date(2026, 5, n)


def _ts(n: int, hour: int = 10) -> str:
    return f"2026-05-{n:02d}T{hour:02d}:00:00Z"


def _pin_mtimes(logs: Path) -> None:
    for f in logs.iterdir():
        os.utime(f, (MTIME, MTIME))


def _tables(warehouse: Path) -> tuple[list, list, list]:
    with connect(warehouse, read_only=True) as con:
        raw = con.execute("select request_id, log_date, source_file, source_line from raw_logs order by all").fetchall()
        rejects = con.execute("select source_file, line, log_date, reason from log_rejects order by all").fetchall()
        parts = con.execute("select * exclude (ingested_at) from log_partitions order by all").fetchall()
    return raw, rejects, parts


def _day_files(logs: Path) -> None:
    """Days 1-5, one file each, in the three formats the scan reads, plus a CSV spanning days 2 and 4."""
    write_jsonl(logs / "d1.jsonl", [record(f"a{i}", ts=_ts(1, 8 + i)) for i in range(3)])
    write_jsonl(logs / "d2.jsonl.gz", [record(f"b{i}", ts=_ts(2, 8 + i)) for i in range(3)], gz=True)
    pq.write_table(pa.table({"request_id": ["c0", "c1"], "timestamp": [_ts(3), _ts(3, 11)], "user_id": ["u", "u"],
                             "query": ["q", "q"], "response": ["r", "r"]}), logs / "d3.parquet")
    write_jsonl(logs / "d4.jsonl", [record(f"d{i}", ts=_ts(4, 8 + i)) for i in range(3)])
    write_jsonl(logs / "d5.jsonl", [record("e0", ts=int((_epoch(5)) * 1000))])  # epoch milliseconds
    (logs / "span.csv").write_text("request_id,timestamp,user_id,query,response\n"
                                   f"f0,{_ts(2)},u,q,r\nf1,{_ts(4)},u,q,r\n", encoding="utf-8")
    _pin_mtimes(logs)


def _epoch(n: int) -> int:
    return int((date(2026, 5, n) - date(1970, 1, 1)).total_seconds()) + 36_000


def test_one_day_of_an_unread_source_reads_only_the_files_that_can_hold_it(source, tmp_path):
    logs = source / "logs"
    _day_files(logs)
    with connect(tmp_path / "one.duckdb") as con:
        result = ingest_window(con, source, _day(3), _day(4))
    # d3.parquet holds the day, span.csv spans days 2-4; the four others are skipped unread
    assert (result.files_read, result.files_skipped_by_scan, result.files_skipped_by_index) == (2, 4, 0)
    with connect(tmp_path / "all.duckdb") as con:
        ingest_window(con, source, *MAY)
    raw, rejects, parts = _tables(tmp_path / "one.duckdb")
    full_raw, _, full_parts = _tables(tmp_path / "all.duckdb")
    assert raw == [r for r in full_raw if r[1] == _day(3)] and [r[0] for r in raw] == ["c0", "c1"]
    assert parts == [p for p in full_parts if p[0] == _day(3)] and rejects == []
    # the epoch-millisecond file is scanned as the parser reads it: day 5 finds it
    with connect(tmp_path / "one.duckdb") as con:
        result = ingest_window(con, source, _day(5), _day(6))
        assert con.execute("select request_id from raw_logs where log_date = $d", {"d": _day(5)}).fetchall() == [("e0",)]
    # d5.jsonl is read; d3.parquet and span.csv are known to the index now; d1, d2, d4 scanned again
    assert (result.files_read, result.files_skipped_by_index, result.files_skipped_by_scan) == (1, 2, 3)


def test_files_the_scan_cannot_vouch_for_are_read(source, tmp_path):
    logs = source / "logs"
    write_jsonl(logs / "broken.jsonl", [record("a", ts=_ts(1)), "{not json"])
    (logs / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(record("b", ts=_ts(1))).encode() + b"\n")
    write_jsonl(logs / "undated.jsonl", [record("c", ts=None), record("d", ts="yesterday-ish")])
    (logs / "cut.jsonl.gz").write_bytes(gzip.compress(b"\n".join(json.dumps(record(f"e{i}", ts=_ts(1))).encode()
                                                                 for i in range(50)) + b"\n")[:-30])
    (logs / "latin1.jsonl").write_bytes(json.dumps(record("f", ts=_ts(1), response="caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n")
    (logs / "utf16.jsonl").write_bytes(json.dumps(record("h", ts=_ts(1))).encode("utf-16"))  # BOM, as Windows writes it
    write_jsonl(logs / "clean.jsonl", [record("g", ts=_ts(1))])
    _pin_mtimes(logs)
    with connect(tmp_path / "w.duckdb") as con:
        result = ingest_window(con, source, _day(9), _day(10))
        scans = con.execute("select source_file, first_date, last_date from log_file_scans order by 1").fetchall()
    # clean.jsonl and bom.jsonl (the ingest drops a UTF-8 BOM too) are day-1 files, skipped; each
    # other file fails the strict scan or has no date, and is read
    assert (result.files_read, result.files_skipped_by_scan) == (5, 2)
    assert scans == [("logs/bom.jsonl", _day(1), _day(1)), ("logs/clean.jsonl", _day(1), _day(1))]


def _hostile_source(logs: Path) -> None:
    """Files spanning days, undated rejects between days, duplicates across files, out-of-range
    and epoch timestamps, a file of rejects only, a BOM, CSV with a quoted newline."""
    write_jsonl(logs / "span.jsonl", [record("s1", ts=_ts(2, 23)), "{broken", record("s2", ts=_ts(4, 1)),
                                      record("s3", ts="1999-01-01T00:00:00Z"), record("s4", ts=_ts(4, 2))])
    write_jsonl(logs / "dup_a.jsonl", [record("x", ts=_ts(3, 9)), record("y", ts=_ts(3, 9), user_id=None)])
    write_jsonl(logs / "dup_b.jsonl.gz", [record("x", ts=_ts(3, 8)), record("z", ts=_epoch(6))], gz=True)
    write_jsonl(logs / "only_rejects.jsonl", [record("r1", ts=None), "[1, 2]"])
    (logs / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(record("b1", ts=_ts(5))).encode() + b"\n")
    pq.write_table(pa.table({"request_id": ["p1", "p2"], "timestamp": [_ts(1), _ts(6)], "user_id": ["u", "u"],
                             "query": ["q", "q"], "response": ["r", "r"]}), logs / "p.parquet")
    (logs / "q.csv").write_text('request_id,timestamp,user_id,query,response\nq1,' + _ts(4) + ',u,"two\nlines",r\n'
                                'q2,not a time,u,q,r\n', encoding="utf-8")
    _pin_mtimes(logs)


def test_day_by_day_windows_load_what_one_window_loads_on_a_hostile_source(source, tmp_path):
    logs = source / "logs"
    _hostile_source(logs)
    with connect(tmp_path / "whole.duckdb") as con:
        ingest_window(con, source, *MAY)
    skipped = 0
    with connect(tmp_path / "daily.duckdb") as con:
        day = MAY[0]
        while day < MAY[1]:
            skipped += ingest_window(con, source, day, day + timedelta(days=1)).files_skipped_by_scan
            day += timedelta(days=1)
    whole, daily = _tables(tmp_path / "whole.duckdb"), _tables(tmp_path / "daily.duckdb")
    assert daily[0] == whole[0] and daily[1] == whole[1] and daily[2] == whole[2]
    assert len(whole[0]) == 9 and len(whole[1]) == 6  # the source was read, not skipped wholesale
    assert skipped > 0  # the scan did skip files on some days


def test_scans_are_remembered_until_a_file_changes(source, tmp_path, monkeypatch):
    from pipeline.logs import ingest

    logs = source / "logs"
    _day_files(logs)
    scanned: list[list[str]] = []
    real = ingest._scan_days
    monkeypatch.setattr(ingest, "_scan_days", lambda con, files: scanned.append(sorted(f.relpath for f in files)) or real(con, files))
    with connect(tmp_path / "w.duckdb") as con:
        ingest_window(con, source, _day(3), _day(4))
        ingest_window(con, source, _day(4), _day(5))
        write_jsonl(logs / "d1.jsonl", [record("a9", ts=_ts(4))])  # now a day-4 file
        os.utime(logs / "d1.jsonl", (MTIME + 5, MTIME + 5))
        result = ingest_window(con, source, _day(4), _day(5))
        rows = [r[0] for r in con.execute("select request_id from raw_logs where log_date = $d order by 1", {"d": _day(4)}).fetchall()]
    # the first run scans every file; the second knows them all; the third rescans the changed one
    assert scanned == [["logs/d1.jsonl", "logs/d2.jsonl.gz", "logs/d3.parquet", "logs/d4.jsonl", "logs/d5.jsonl", "logs/span.csv"],
                       ["logs/d1.jsonl"]]
    assert rows == ["a9", "d0", "d1", "d2", "f1"] and result.files_read == 3  # d1.jsonl, d4.jsonl, span.csv


# ---- sources that once broke the invariant (a break-it review of the scan) -----------------

def _parquet(path: Path, columns: dict) -> None:
    n = len(next(iter(columns.values())))
    base = {"request_id": [f"{path.stem}{i}" for i in range(n)], "user_id": ["u"] * n, "query": ["q"] * n,
            "response": ["r"] * n}
    pq.write_table(pa.table({**base, **columns}), path)


def _mixed_parquet_types(logs: Path) -> None:
    # scanned together, DuckDB cast b's double to a's int64 (rounding past midnight) and c's text
    # to d's TIMESTAMP (dropping the +14:00)
    _parquet(logs / "a.parquet", {"timestamp": pa.array([1_777_766_400_000], pa.int64())})
    _parquet(logs / "b.parquet", {"timestamp": pa.array([1_777_852_799_999.6], pa.float64())})
    from datetime import datetime

    _parquet(logs / "c.parquet", {"timestamp": pa.array([datetime(2026, 5, 6, 5)], pa.timestamp("us"))})
    _parquet(logs / "d.parquet", {"timestamp": ["2026-05-03T05:00:00+14:00"]})


def _capital_timestamp(logs: Path) -> None:
    _parquet(logs / "cap.parquet", {"Timestamp": [_ts(3)]})  # the parser sees no `timestamp`: undated
    write_jsonl(logs / "late.jsonl", [record("l", ts=_ts(10))])


def _rejects_with_and_without_dates(logs: Path) -> None:
    write_jsonl(logs / "bad.jsonl", [record("x", ts=_ts(3), user_id=None), record("y", ts=None)])
    write_jsonl(logs / "b.jsonl", [record("v", ts=_ts(1)), record("w", ts=_ts(15), user_id=None)])
    write_jsonl(logs / "undated.jsonl", [record("z", ts=None)])
    write_jsonl(logs / "late.jsonl", [record("l", ts=_ts(10))])


def _hostile_csv(logs: Path) -> None:
    """CSV files the scan must date as the ingest does, or leave to be read."""
    head = "request_id,timestamp,user_id,query,response\n"
    # a quoted newline, an offset past midnight, epoch seconds and milliseconds, an empty cell
    # (a reject dated by its neighbours), a blank line
    (logs / "spans.csv").write_text(head + f'k1,{_ts(2)},u,"two\nlines",r\n'
                                    "k2,2026-05-03T23:30:00-05:00,u,q,r\n\n"
                                    f"k3,{_epoch(6)},u,q,r\nk4,,u,q,r\nk5,{_epoch(7) * 1000},u,q,r\n", encoding="utf-8")
    (logs / "old.csv").write_text(head + f"o1,{_ts(21)},u,q,r\no2,1999-01-01T00:00:00Z,u,q,r\n", encoding="utf-8")
    # as pandas writes its index: a column without a name, which the reader's query refuses
    (logs / "index.csv").write_text("," + head + f"0,i1,{_ts(22)},u,q,r\n", encoding="utf-8")
    (logs / "mac_header.csv").write_bytes((head.replace("\n", "\r") + f"h1,{_ts(23)},u,q,r\r").encode())
    (logs / "spaced.csv").write_text(" request_id , timestamp ,user_id,query,response\n"
                                     f"s1,{_ts(8)},u,q,r\n", encoding="utf-8")
    (logs / "wide.csv").write_text(head + f"w1,{_ts(9)},u,q,r\nw2,{_ts(9)},u,q,r,extra\n", encoding="utf-8")
    (logs / "latin1.csv").write_bytes((head + f"l1,{_ts(10)},u,q,caf\u00e9\n").encode("latin-1"))
    (logs / "capital.csv").write_text(head.replace("timestamp", "Timestamp") + f"c1,{_ts(11)},u,q,r\n", encoding="utf-8")
    (logs / "twice.csv").write_text("request_id,timestamp,Timestamp,user_id,query,response\n"
                                    f"t1,{_ts(12)},{_ts(13)},u,q,r\n", encoding="utf-8")
    (logs / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (head + f"b1,{_ts(14)},u,q,r\n").encode())
    (logs / "utf16.csv").write_bytes((head + f"u1,{_ts(15)},u,q,r\n").encode("utf-16"))
    (logs / "packed.csv.gz").write_bytes(gzip.compress((head + f"g1,{_ts(16)},u,q,r\ng2,{_ts(17)},u,q,r\n").encode()))
    (logs / "mac.csv").write_bytes((head + f"m1,{_ts(18)},u,q,r\rm2,{_ts(19)},u,q,r\r").encode())
    (logs / "cut.csv.gz").write_bytes(gzip.compress((head + "".join(f"x{i},{_ts(20)},u,q,r\n" for i in range(50))).encode())[:-20])
    write_jsonl(logs / "late.jsonl", [record("j", ts=_ts(25))])


@pytest.mark.parametrize("make", [_hostile_source, _mixed_parquet_types, _capital_timestamp,
                                  _rejects_with_and_without_dates, _hostile_csv])
@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_any_order_of_daily_windows_loads_what_one_window_loads(source, tmp_path, make, order):
    logs = source / "logs"
    make(logs)
    _pin_mtimes(logs)
    with connect(tmp_path / "whole.duckdb") as con:
        ingest_window(con, source, *MAY)
    days = [MAY[0] + timedelta(days=i) for i in range((MAY[1] - MAY[0]).days)]
    with connect(tmp_path / "daily.duckdb") as con:
        for day in days if order == "forward" else days[::-1]:
            ingest_window(con, source, day, day + timedelta(days=1))
    whole, daily = _tables(tmp_path / "whole.duckdb"), _tables(tmp_path / "daily.duckdb")
    assert daily == whole and whole[0] + whole[1]


def test_csv_files_are_dated_by_the_ingests_own_reader_or_read(source, tmp_path):
    logs = source / "logs"
    _hostile_csv(logs)
    _pin_mtimes(logs)
    with connect(tmp_path / "w.duckdb") as con:
        result = ingest_window(con, source, _day(30), _day(31))
        scans = dict((r[0], r[1:]) for r in con.execute("select source_file, first_date, last_date from log_file_scans").fetchall())
    # dated by the scan and skipped: spans.csv over days 2-7 (the offset's day 4 in UTC; seconds,
    # milliseconds; the empty cell is a reject and stretches nothing), spaced.csv (the header's
    # spaces go, as in the ingest), bom.csv, utf16.csv, packed.csv.gz, late.jsonl
    assert scans == {"logs/spans.csv": (_day(2), _day(7)), "logs/spaced.csv": (_day(8), _day(8)),
                     "logs/bom.csv": (_day(14), _day(14)), "logs/utf16.csv": (_day(15), _day(15)),
                     "logs/packed.csv.gz": (_day(16), _day(17)), "logs/late.jsonl": (_day(25), _day(25))}
    # read whatever the window: a row of another width, bad UTF-8, no column spelt `timestamp`,
    # two of them, lines ended by CR alone (one line to the ingest's reader, then a header it
    # cannot split), a cut gzip, a timestamp out of the accepted range, a column without a name
    assert (result.files_read, result.files_skipped_by_scan) == (9, 6)
    with connect(tmp_path / "w.duckdb") as con:  # the whole month: where the files' rejects are
        ingest_window(con, source, *MAY)
        reasons = dict(con.execute("select source_file, reason from log_rejects where line = 0").fetchall())
    assert reasons["logs/mac_header.csv"].startswith("could not read the file as csv: new-line character seen")
    assert reasons["logs/index.csv"].startswith("could not read the file as csv:")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_file_with_a_timestamp_outside_the_accepted_range_is_not_skipped_by_its_scan(source, tmp_path, monkeypatch, fmt):
    """Such a record is a reject today and a record on its own day once the range moves
    (EVALFUNNEL_LOGS_SINCE set earlier, a future time come): a remembered scan would not know."""
    logs = source / "logs"
    rows = [("a", _ts(3)), ("b", _ts(10))]
    if fmt == "jsonl":
        write_jsonl(logs / "f.jsonl", [record(r, ts=t) for r, t in rows])
    else:
        (logs / "f.csv").write_text("request_id,timestamp,user_id,query,response\n"
                                    + "".join(f"{r},{t},u,q,r\n" for r, t in rows), encoding="utf-8")
    write_jsonl(logs / "late.jsonl", [record("l", ts=_ts(20))])
    _pin_mtimes(logs)
    monkeypatch.setenv("EVALFUNNEL_LOGS_SINCE", "2026-05-05")  # day 3 is out of range
    with connect(tmp_path / "w.duckdb") as con:
        ingest_window(con, source, _day(20), _day(21))
        monkeypatch.delenv("EVALFUNNEL_LOGS_SINCE")
        ingest_window(con, source, _day(3), _day(4))
        assert con.execute("select request_id from raw_logs where log_date = $d", {"d": _day(3)}).fetchall() == [("a",)]


def test_the_scan_reads_naive_timestamps_in_utc_whatever_the_instance_time_zone(source, tmp_path):
    logs = source / "logs"
    write_jsonl(logs / "naive.jsonl", [record("n", ts="2026-05-03T05:00:00")])
    from datetime import datetime

    _parquet(logs / "naive.parquet", {"timestamp": pa.array([datetime(2026, 5, 3, 5)], pa.timestamp("us"))})
    with connect(tmp_path / "w.duckdb") as con:
        # a machine far from UTC: DuckDB's default for new connections (a cursor's) is its zone
        con.execute("set global TimeZone = 'Pacific/Kiritimati'")
        con.execute("set TimeZone = 'UTC'")
        ingest_window(con, source, _day(3), _day(4))
        assert sorted(r[0] for r in con.execute("select request_id from raw_logs").fetchall()) == ["n", "naive0"]
