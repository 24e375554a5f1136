"""Parsing, normalization and contract rejects: one test per kind of bad input."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.logs.ingest import SourceError, ingest_window
from pipeline.warehouse import connect
from tests.conftest import record, write_jsonl

MAY = (date(2026, 5, 1), date(2026, 6, 1))


def ingest(source: Path, warehouse_path: Path, window=MAY):
    with connect(warehouse_path) as con:
        result = ingest_window(con, source, *window)
        rejects = con.execute("select source_file, line, field, reason from log_rejects order by source_file, line").fetchall()
        rows = {r[0]: r for r in con.execute(
            "select request_id, \"timestamp\", user_id, messages, response, latency_ms, feedback, metadata, extra, "
            "log_date, source_file, source_line from raw_logs").fetchall()}
    return result, rejects, rows


def test_valid_records_load_and_counts_reconcile(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record(f"r{i}") for i in range(5)])
    result, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {f"r{i}" for i in range(5)}
    assert rejects == []
    day = next(p for p in result.partitions if p.log_date == date(2026, 5, 2))
    assert (day.read, day.loaded, day.rejected, day.duplicates) == (5, 5, 0, 0)
    assert all(p.read == p.loaded + p.rejected + p.duplicates for p in result.partitions)
    assert len(result.partitions) == 31  # every day of the window has a row, empty ones included


def test_invalid_json_line_is_rejected_and_the_rest_of_the_file_loads(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("r1"), '{"request_id": "r2", "timestamp": ', record("r3")])
    result, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r1", "r3"}
    assert rejects == [("logs/a.jsonl", 2, "record", "not valid JSON")]
    assert result.totals == {"read": 3, "loaded": 2, "rejected": 1, "duplicates": 0}


@pytest.mark.parametrize("missing, reason", [
    ("user_id", "user_id: missing"),
    ("request_id", "request_id: missing"),
    ("timestamp", "timestamp: missing"),
    ("response", 'response: missing (use "" for an empty answer)'),
    ("query", "messages/query: one of them is required"),
])
def test_missing_required_field_names_the_field(source, warehouse_path, missing, reason):
    write_jsonl(source / "logs" / "a.jsonl", [record("ok1"), record("bad", **{missing: None}), record("ok2")])
    _, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"ok1", "ok2"}
    assert [(r[1], r[2], r[3]) for r in rejects] == [(2, missing if missing != "query" else "messages/query", reason)]


@pytest.mark.parametrize("override, field, fragment", [
    ({"latency_ms": "fast"}, "latency_ms", "must be a finite number from 0 to 86400000, got fast"),
    ({"latency_ms": -3}, "latency_ms", "must be a finite number from 0"),
    ({"cost_usd": "free"}, "cost_usd", "must be a finite number from 0 to 10000"),
    ({"input_tokens": 1.5}, "input_tokens", "must be an integer from 0 to 100000000"),
    # non-finite and out-of-range numbers are rejects, not NULLs or infinities
    ({"latency_ms": "inf"}, "latency_ms", "got inf"),
    ({"latency_ms": "NaN"}, "latency_ms", "got NaN"),
    ({"cost_usd": 1e400}, "cost_usd", "must be a finite number"),
    ({"input_tokens": 1e30}, "input_tokens", "must be an integer from 0 to 100000000"),
    ({"output_tokens": "Infinity"}, "output_tokens", "got Infinity"),
    ({"latency_ms": 90_000_000}, "latency_ms", "from 0 to 86400000"),
    ({"feedback": {"thumbs": 5}}, "feedback.thumbs", "must be -1, 0, 1 or null, got 5"),
    ({"feedback": {"regenerated": "yes"}}, "feedback.regenerated", "must be true or false"),
    ({"feedback": "great"}, "feedback", "must be an object"),
    ({"user_id": {"id": 3}}, "user_id", "must be a string or a whole number, not a JSON object"),
    ({"user_id": " \t"}, "user_id", "user_id: must not be empty"),
    ({"user_id": 12.5}, "user_id", "must be a string or a whole number within 64 bits"),
    ({"user_id": 123456789012345678901234567890}, "user_id", "must be a string or a whole number within 64 bits"),
    ({"user_id": "\u00a0\u200b"}, "user_id", "user_id: must not be empty"),
    ({"response": 42}, "response", "must be a string"),
    ({"timestamp": "yesterday"}, "timestamp", "not RFC 3339 or epoch milliseconds: yesterday"),
    ({"query": None, "messages": "hello"}, "messages", "must be a non-empty list"),
    ({"query": None, "messages": [{"role": "robot", "content": "x"}]}, "messages", "role in system, user, assistant, tool"),
    ({"metadata": ["topic"]}, "metadata", "must be an object"),
])
def test_wrong_types_are_rejected_with_field_and_reason(source, warehouse_path, override, field, fragment):
    write_jsonl(source / "logs" / "a.jsonl", [record("ok"), record("bad", **override)])
    _, rejects, rows = ingest(source, warehouse_path, (date(2026, 4, 1), date(2026, 6, 1)))
    assert set(rows) == {"ok"}
    assert len(rejects) == 1 and rejects[0][2] == field and fragment in rejects[0][3], rejects


def test_ids_are_trimmed_of_tabs_line_ends_and_unicode_spaces(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("r1\t"), record(" r2\r\n", user_id="\tu7 "),
                                              record("r3\u00a0", user_id="u7\u200b", session_id="\u3000s1\ufeff")])
    _, rejects, rows = ingest(source, warehouse_path)
    assert not rejects and set(rows) == {"r1", "r2", "r3"} and rows["r2"][2] == rows["r3"][2] == "u7"
    with connect(warehouse_path, read_only=True) as con:
        assert con.execute("select session_id from raw_logs where request_id = 'r3'").fetchall() == [("s1",)]


def test_several_problems_are_all_listed(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("bad", user_id=None, latency_ms="slow")])
    _, rejects, _ = ingest(source, warehouse_path)
    assert rejects[0][3] == "user_id: missing; latency_ms: must be a finite number from 0 to 86400000, got slow"


def test_record_that_is_not_an_object(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("ok"), "[1, 2, 3]"])
    _, rejects, _ = ingest(source, warehouse_path)
    assert rejects[0][1:] == (2, "record", "record is a JSON array, not an object")


def test_non_utf8_line_is_rejected_other_lines_load(source, warehouse_path):
    good = json.dumps(record("r1")).encode()
    bad = json.dumps(record("r2", response="Caf_ cr_me")).encode().replace(b"Caf_", b"Caf\xe9")
    write_jsonl(source / "logs" / "latin1.jsonl", [good, bad, json.dumps(record("r3")).encode()])
    _, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r1", "r3"}
    assert rejects[0][:3] == ("logs/latin1.jsonl", 2, "record")
    assert "not valid UTF-8 (byte 0xe9" in rejects[0][3]


def test_truncated_gzip_keeps_complete_lines_and_rejects_the_cut_record(source, warehouse_path):
    # random text compresses poorly, so half the stream holds about half the lines
    body = b"".join(json.dumps(record(f"r{i}", response=os.urandom(100).hex())).encode() + b"\n" for i in range(30))
    blob = gzip.compress(body)
    (source / "logs" / "cut.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    result, rejects, rows = ingest(source, warehouse_path)
    assert 0 < len(rows) < 30
    assert set(rows) == {f"r{i}" for i in range(len(rows))}  # a prefix of the file, nothing skipped
    assert len(rejects) == 1
    file, line, field, reason = rejects[0]
    assert (file, line, field) == ("logs/cut.jsonl.gz", len(rows) + 1, "record")
    assert "the file ends early" in reason and "gzip stream ends before its end marker" in reason
    assert result.totals["read"] == len(rows) + 1


def test_multi_member_gzip_is_read_to_the_end(source, warehouse_path):
    part1 = gzip.compress((json.dumps(record("r1")) + "\n").encode())
    part2 = gzip.compress((json.dumps(record("r2")) + "\n").encode())
    (source / "logs" / "appended.jsonl.gz").write_bytes(part1 + part2)
    _, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r1", "r2"} and rejects == []


def test_empty_file_and_blank_lines_are_not_records(source, warehouse_path):
    (source / "logs" / "empty.jsonl").write_bytes(b"")
    write_jsonl(source / "logs" / "a.jsonl", [record("r1"), "", "   ", record("r2")])
    result, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r1", "r2"} and rejects == []
    assert rows["r2"][11] == 4  # source_line counts the blank lines
    assert result.files_read == 2


def test_unsupported_files_are_reported_not_read(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("r1")])
    (source / "logs" / "notes.txt").write_text("not a log")
    result, _, rows = ingest(source, warehouse_path)
    assert result.unsupported_files == ["logs/notes.txt"] and set(rows) == {"r1"}


def test_normalization_query_timestamps_unknown_fields(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [
        record("q", query="how?"),
        record("epoch", ts=int(datetime(2026, 5, 3, 23, 30, tzinfo=UTC).timestamp() * 1000)),
        record("offset", ts="2026-05-04T01:30:00+02:00"),
        record("extra", trace_id="abc", client={"os": "ios"}),
        record("msgs", query=None, messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]),
    ])
    _, rejects, rows = ingest(source, warehouse_path)
    assert rejects == []
    assert rows["q"][3] == [{"role": "user", "content": "how?"}]
    assert rows["epoch"][1] == datetime(2026, 5, 3, 23, 30, tzinfo=UTC) and rows["epoch"][9] == date(2026, 5, 3)
    # +02:00 local time one thirty is 23:30 UTC the previous day: the partition follows UTC
    assert rows["offset"][1] == datetime(2026, 5, 3, 23, 30, tzinfo=UTC) and rows["offset"][9] == date(2026, 5, 3)
    assert json.loads(rows["extra"][8]) == {"trace_id": "abc", "client": {"os": "ios"}}
    assert rows["q"][8] is None
    assert [m["role"] for m in rows["msgs"][3]] == ["system", "user"]
    assert json.loads(rows["q"][7]) == {"topic": "coding"}


def test_csv_with_nested_json_cells_and_numeric_text(source, warehouse_path):
    (source / "logs" / "export.csv").write_text(
        "request_id,timestamp,user_id,query,response,latency_ms,feedback,metadata\n"
        'c1,2026-05-02T10:00:00Z,u1,hi,"two\nlines",120.5,"{""thumbs"": -1}","{""topic"": ""billing""}"\n'
        "c2,1777716000000,u2,hi,,7,,\n"
        "c3,2026-05-02T11:00:00Z,u3,hi,ok,slow,,\n")
    _, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"c1", "c2"}
    assert rows["c1"][4] == "two\nlines" and rows["c1"][5] == 120.5
    assert rows["c1"][6]["thumbs"] == -1 and json.loads(rows["c1"][7]) == {"topic": "billing"}
    assert rows["c2"][4] == ""  # an empty response cell is an empty answer
    assert rows["c2"][1] == datetime.fromtimestamp(1777716000, tz=UTC)
    assert rejects[0][0] == "logs/export.csv" and rejects[0][2] == "latency_ms"


def test_parquet_with_native_types(source, warehouse_path):
    table = pa.Table.from_pylist([
        {"request_id": "p1", "timestamp": datetime(2026, 5, 2, 9, tzinfo=UTC), "user_id": "u",
         "messages": [{"role": "user", "content": "q"}], "response": "a", "latency_ms": 10.0,
         "feedback": {"thumbs": None, "regenerated": True, "copied": False}},
    ])
    pq.write_table(table, source / "logs" / "day.parquet")
    _, rejects, rows = ingest(source, warehouse_path)
    assert rejects == [] and rows["p1"][1] == datetime(2026, 5, 2, 9, tzinfo=UTC)
    assert rows["p1"][6]["regenerated"] is True


def test_corrupt_parquet_is_one_file_level_reject(source, warehouse_path):
    broken = source / "logs" / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    os.utime(broken, (datetime(2026, 5, 20, tzinfo=UTC).timestamp(),) * 2)
    write_jsonl(source / "logs" / "a.jsonl", [record("r1")])
    result, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r1"}
    # nothing in the file has a date, so the reject is filed under the file's modification day
    assert rejects[0][:3] == ("logs/broken.parquet", 0, "record") and "could not read the file as parquet" in rejects[0][3]
    assert [f for f, _ in result.file_errors] == ["logs/broken.parquet"]


def test_file_errors_are_reported_by_every_window_that_reads_the_file(source, warehouse_path):
    (source / "logs" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    result, rejects, _ = ingest(source, warehouse_path, (date(2026, 5, 1), date(2026, 5, 2)))
    assert rejects == []  # filed under today's date, outside this window ...
    assert result.file_errors and "could not read the file as parquet" in result.file_errors[0][1]  # ... but never silent


def test_duplicates_keep_the_earliest_deterministically(source, warehouse_path):
    write_jsonl(source / "logs" / "b.jsonl", [record("d", ts="2026-05-02T10:00:05Z", response="later")])
    write_jsonl(source / "logs" / "a.jsonl", [record("d", ts="2026-05-02T10:00:00Z", response="first"),
                                             record("d", ts="2026-05-02T10:00:00Z", response="redelivered")])
    result, _, rows = ingest(source, warehouse_path)
    assert rows["d"][4] == "first" and rows["d"][10] == "logs/a.jsonl"
    assert result.totals == {"read": 3, "loaded": 1, "rejected": 0, "duplicates": 2}


def test_reingesting_a_window_replaces_it(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record(f"r{i}") for i in range(3)] + ["{bad"])
    first, _, _ = ingest(source, warehouse_path)
    second, rejects, rows = ingest(source, warehouse_path)
    assert first.totals == second.totals and len(rows) == 3 and len(rejects) == 1
    with connect(warehouse_path) as con:
        assert con.execute("select count(*) from log_partitions").fetchone()[0] == 31


def test_window_only_writes_its_days(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("d2", ts="2026-05-02T10:00:00Z"), record("d3", ts="2026-05-03T10:00:00Z")])
    result, _, rows = ingest(source, warehouse_path, (date(2026, 5, 3), date(2026, 5, 4)))
    assert set(rows) == {"d3"} and [p.log_date for p in result.partitions] == [date(2026, 5, 3)]


def test_reject_without_timestamp_goes_to_its_neighbours_day(source, warehouse_path):
    write_jsonl(source / "logs" / "a.jsonl", [record("a", ts="2026-05-07T10:00:00Z"), "{broken", record("b", ts="2026-05-07T11:00:00Z")])
    _, _, _ = ingest(source, warehouse_path)
    with connect(warehouse_path) as con:
        assert con.execute("select log_date from log_rejects").fetchall() == [(date(2026, 5, 7),)]


def test_file_index_skips_unchanged_files_outside_the_window(source, warehouse_path):
    write_jsonl(source / "logs" / "may02.jsonl", [record("a", ts="2026-05-02T10:00:00Z")])
    write_jsonl(source / "logs" / "may09.jsonl", [record("b", ts="2026-05-09T10:00:00Z")])
    ingest(source, warehouse_path)
    one_day = (date(2026, 5, 9), date(2026, 5, 10))
    result, _, _ = ingest(source, warehouse_path, one_day)
    assert (result.files_read, result.files_skipped_by_index) == (1, 1)
    # a changed file is read again whatever days it used to hold
    write_jsonl(source / "logs" / "may02.jsonl", [record("a", ts="2026-05-09T12:00:00Z")])
    os.utime(source / "logs" / "may02.jsonl", ns=(1, 1))
    result, _, rows = ingest(source, warehouse_path, one_day)
    assert result.files_read == 2 and set(rows) >= {"a", "b"}


def test_missing_source_directory_fails_at_once_naming_the_path(tmp_path, warehouse_path):
    with connect(warehouse_path) as con, pytest.raises(SourceError, match=str(tmp_path / "nowhere")):
        ingest_window(con, tmp_path / "nowhere", *MAY)
    (tmp_path / "nologs").mkdir()
    with connect(warehouse_path) as con, pytest.raises(SourceError, match="logs/ folder"):
        ingest_window(con, tmp_path / "nologs", *MAY)


def test_fast_and_line_by_line_readers_agree():
    from pipeline.logs.ingest import _block_table, _lines_table

    lines = [json.dumps(record(f"r{i}", response="é ✓ " * i)).encode() for i in range(50)]
    block = b"\n".join(lines) + b"\n"
    fast = _block_table("f", 7, block)
    exact = _lines_table("f", 7, lines)
    assert fast.equals(exact.cast(fast.schema))
    # what the fast path leaves to the exact one: CRLF, blank and indented lines, bad UTF-8
    for odd in (b"\r", b"\n", b"\n  ", b"\xe9"):
        messy = block.replace(lines[3] + b"\n", lines[3] + odd + b"\n", 1)
        assert _block_table("f", 7, messy).equals(_lines_table("f", 7, messy[:-1].split(b"\n")))


def test_crlf_lines_load(source, warehouse_path):
    body = b"".join(json.dumps(record(f"r{i}")).encode() + b"\r\n" for i in range(3))
    (source / "logs" / "windows.jsonl").write_bytes(body)
    _, rejects, rows = ingest(source, warehouse_path)
    assert set(rows) == {"r0", "r1", "r2"} and rejects == []


@pytest.mark.parametrize("ts", [1777716000, "1777716000", 1777716000000, "1777716000000", 1777716000.5])
def test_epoch_seconds_and_milliseconds_mean_the_same_instant_as_number_or_text(source, warehouse_path, ts):
    write_jsonl(source / "logs" / "a.jsonl", [record("epoch", ts=ts)])
    _, rejects, rows = ingest(source, warehouse_path)
    assert rejects == [] and rows["epoch"][1].astimezone(UTC).replace(microsecond=0) == datetime(2026, 5, 2, 10, 0, tzinfo=UTC)


def test_the_partition_scan_reads_epoch_timestamps_as_the_parser_does(tmp_path):
    # Parquet with epoch ms / s / ms-as-text and JSONL with float epochs: the fast day-range scan
    # found none of them (a Parquet-only source made `run` exit 2; a mixed one lost those days)
    import datetime as dt
    import json

    import polars as pl

    from pipeline.logs.ingest import discover, file_days, source_days

    logs = tmp_path / "src" / "logs"
    logs.mkdir(parents=True)
    base = dt.datetime(2026, 5, 14, 10, tzinfo=dt.timezone.utc)
    ms = [int((base + dt.timedelta(days=d)).timestamp() * 1000) for d in range(3)]

    def rec(i, ts):
        return {"request_id": f"r{i}", "timestamp": ts, "user_id": "u", "response": "ok",
                "messages": [{"role": "user", "content": "hi"}]}

    pl.DataFrame([rec(i, t) for i, t in enumerate(ms)]).write_parquet(logs / "ms.parquet")
    pl.DataFrame([rec(10 + i, t // 1000) for i, t in enumerate(ms)]).write_parquet(logs / "s.parquet")
    pl.DataFrame([rec(20 + i, str(t)) for i, t in enumerate(ms)]).write_parquet(logs / "text.parquet")
    (logs / "float.jsonl").write_text("".join(json.dumps(rec(30 + i, t + 6 * 86_400_000.0)) + "\n"
                                              for i, t in enumerate(ms)))
    files, _ = discover(tmp_path / "src")
    days = {f.path.name: file_days(f) for f in files}
    assert all(len(d) == 3 for d in days.values()), days  # the parser reads every one
    everything = set().union(*days.values())
    assert source_days(tmp_path / "src") == (min(everything), max(everything)) == (dt.date(2026, 5, 14),
                                                                                   dt.date(2026, 5, 22))
    for name in ("ms.parquet", "float.jsonl"):  # each format alone
        alone = tmp_path / name / "logs"
        alone.mkdir(parents=True)
        (alone / name).write_bytes((logs / name).read_bytes())
        assert source_days(tmp_path / name) == (min(days[name]), max(days[name]))
