"""A corpus of bad inputs the demo generator never writes, ingested together.

For every file: the records the test wrote = loaded + rejected + planted duplicates, the sum
over files equals what the test wrote, nothing is filed under a day no run materializes, and
rejects keep no raw PII.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
from datetime import date
from pathlib import Path

import pytest

from pipeline.logs.ingest import ingest_window, source_days
from pipeline.privacy.anonymize import Anonymizer
from pipeline.privacy.cleaning import clean_window
from pipeline.warehouse import connect
from tests.conftest import record

WINDOW = (date(2020, 1, 1), date(2026, 12, 31))  # wide: nothing may land outside the source's days
SSN = "661-23-0417"


def _jsonl(rows: list) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n" for r in rows)


def write_corpus(logs: Path) -> dict[str, tuple[int, int]]:
    """Write the corpus; per file, (records written, planted duplicates). A file that cannot be
    read at all counts as one record (its file-level reject)."""
    rng = random.Random(5)
    expected: dict[str, tuple[int, int]] = {}

    def put(name: str, body: bytes, records: int, duplicates: int = 0) -> None:
        path = logs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        expected[f"logs/{name}"] = (records, duplicates)

    put("bom.jsonl", codecs.BOM_UTF8 + _jsonl([record(f"bom{i}") for i in range(3)]), 3)
    put("utf16.jsonl", _jsonl([record("u16a"), record("u16b", query="naïve café?")]).decode().encode("utf-16"), 2)
    put("latin1.jsonl", _jsonl([record("lat1", query="crème brûlée?")]).decode().encode("latin-1")
        + _jsonl([record("lat2")]), 2)
    put("crlf.jsonl", _jsonl([record("crlf1"), record("crlf2")]).replace(b"\n", b"\r\n"), 2)
    # incompressible text, so the cut falls inside the last record
    whole = gzip.compress(_jsonl([record(f"gz{i}", response=rng.randbytes(3000).hex()) for i in (1, 2, 3)]))
    put("truncated.jsonl.gz", whole[: len(whole) - 40], 3)
    put("plain-text.jsonl.gz", _jsonl([record("pt1"), record("pt2")]), 1)
    put("corrupt.parquet", b"PAR1" + bytes(rng.getrandbits(8) for _ in range(3000)), 1)
    noise = bytes(rng.getrandbits(8) for _ in range(20_000))
    put("random-bytes.jsonl", noise, sum(1 for chunk in noise.split(b"\n") if chunk.strip()))
    put("ten-mb-line.jsonl", _jsonl([record("big", response="word " * 2_000_000), record("small")]), 2)
    deep = '{"request_id": "deep", "timestamp": "2026-05-02T10:00:00Z", "user_id": "u", "query": "q", "response": "r", ' \
           '"metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    put("deep-nesting.jsonl", _jsonl([deep.encode(), record("shallow")]), 2)
    put("dates.jsonl", _jsonl([record("epoch", ts="1970-01-01T00:00:00Z"), record("future", ts="2099-01-01T00:00:00Z"),
                               record("year1", ts="0001-01-01T00:00:00Z"), record("ok-date1"),
                               record("ok-date2", ts="2026-05-03T08:00:00Z")]), 5)
    put("numbers.jsonl", "\n".join([
        '{"request_id": "nan", "timestamp": "2026-05-02T10:00:00Z", "user_id": "u", "query": "q", "response": "r", "latency_ms": NaN}',
        '{"request_id": "inf", "timestamp": "2026-05-02T10:00:00Z", "user_id": "u", "query": "q", "response": "r", "latency_ms": Infinity}',
        json.dumps(record("inf-text", latency_ms="inf")),
        '{"request_id": "huge", "timestamp": "2026-05-02T10:00:00Z", "user_id": "u", "query": "q", "response": "r", "cost_usd": 1e400}',
        json.dumps(record("tokens", input_tokens=1e30)),
        json.dumps(record("fine-number", latency_ms=812.5)),
    ]).encode() + b"\n", 6)
    header = "request_id,timestamp,user_id,query,response\n"
    rows = ["c1,2026-05-02T10:00:00Z,u,q,r", "c2,2026-05-02T10:00:00Z,u,q", "c3,2026-05-02T10:00:00Z,u,q,r",
            'c4,2026-05-02T10:00:00Z,u,"multi\nline question",r', "c5,2026-05-02T10:00:00Z,u,q,r,EXTRA",
            "c6,2026-05-02T10:00:00Z,u,q,r", "c7,2026-05-02T10:00:00Z,u,q,"]
    put("seven-rows.csv", (header + "\n".join(rows) + "\n").encode(), 7)
    put("pii-reject.jsonl", _jsonl([record("pii-ok"), record("pii-bad", latency_ms=f"my ssn is {SSN}",
                                                            query=f"my SSN is {SSN}, email me at jo@example.org")]), 2)
    put("card-in-metadata.jsonl", _jsonl([record("card", metadata={"topic": "billing", "card": 4111111111111111})]), 1)
    put("dup-a.jsonl", _jsonl([record("dup"), record("dup-other")]), 2)
    put("nested/dup-b.jsonl", _jsonl([record("dup")]), 1, duplicates=1)
    put("empty.jsonl", b"", 0)
    put("empty.jsonl.gz", b"", 0)
    put("blank-lines.jsonl", b"\n\n   \n", 0)
    # a link back up the tree, and a second link to one folder: each file is read once
    os.symlink("..", logs / "nested" / "loop")
    os.symlink(logs / "nested", logs / "zz-nested-again")
    return expected


def _ingest_corpus(root: Path):
    source, warehouse_path = root / "src", root / "home" / "warehouse.duckdb"
    expected = write_corpus(source / "logs")
    anonymizer = Anonymizer(b"corpus-key")
    with connect(warehouse_path) as con:
        result = ingest_window(con, source, *WINDOW, scrub=lambda frame, cols: anonymizer.scrub(frame, cols)[0])
        cleaned = clean_window(con, anonymizer, *WINDOW)
    return expected, result, cleaned, warehouse_path, source


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory):
    """The corpus ingested and cleaned once; the tests below only read it."""
    return _ingest_corpus(tmp_path_factory.mktemp("corpus"))


def test_every_record_is_loaded_or_rejected_per_file(ingested):
    expected, result, _, warehouse_path, _ = ingested
    with connect(warehouse_path, read_only=True) as con:
        loaded = dict(con.execute("select source_file, count(*) from raw_logs group by all").fetchall())
        rejected = dict(con.execute("select source_file, count(*) from log_rejects group by all").fetchall())
        indexed = dict(con.execute("select source_file, records from log_files").fetchall())
    assert set(loaded) | set(rejected) <= set(expected)  # the links add no second copy of a file
    for name, (written, duplicates) in expected.items():
        got = (loaded.get(name, 0), rejected.get(name, 0), duplicates)
        assert sum(got) == written, f"{name}: loaded, rejected, duplicates = {got}, wrote {written}"
        assert indexed[name] == written, name
    totals = result.totals
    assert totals["read"] == sum(w for w, _ in expected.values())
    assert totals["read"] == totals["loaded"] + totals["rejected"] + totals["duplicates"]
    assert totals["duplicates"] == 1


def test_what_each_bad_file_gets(ingested):
    _, _, _, warehouse_path, _ = ingested
    with connect(warehouse_path, read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute("select request_id, source_line, latency_ms, query_text from "
                                                 "(select *, messages[1].content as query_text from raw_logs)").fetchall()}
        rejects = con.execute("select source_file, line, field, reason from log_rejects order by all").fetchall()
        errors = dict(con.execute("select source_file, error from log_files where error is not null").fetchall())
    by_file: dict[str, list] = {}
    for file, line, field, reason in rejects:
        by_file.setdefault(file, []).append((line, field, reason))
    # byte-order marks and UTF-16 are read; latin-1 is a reject that says what to do
    assert {"bom0", "bom1", "bom2", "u16a", "u16b", "lat2", "crlf1", "crlf2"} <= rows.keys()
    assert rows["u16b"][2] == "naïve café?"
    assert by_file["logs/latin1.jsonl"][0][2].startswith("not valid UTF-8")
    # a cut gzip keeps what came before the break
    assert {"gz1", "gz2"} <= rows.keys() and "cut off" in by_file["logs/truncated.jsonl.gz"][0][2]
    # unreadable files are file-level rejects and listed in log_files.error
    assert by_file["logs/plain-text.jsonl.gz"] == [(0, "record", by_file["logs/plain-text.jsonl.gz"][0][2])]
    assert "not a gzip file" in errors["logs/plain-text.jsonl.gz"]
    assert "could not read the file as parquet" in errors["logs/corrupt.parquet"]
    assert errors["logs/random-bytes.jsonl"].startswith("no valid record")
    # implausible dates are rejects with their reason, and do not stretch the source's days
    dated = {line: reason for line, _, reason in by_file["logs/dates.jsonl"]}
    assert set(dated) == {1, 2, 3} and all("outside the accepted range" in r for r in dated.values())
    assert {"ok-date1", "ok-date2"} <= rows.keys()
    # non-finite and out-of-range numbers are rejects, never NULLs or infinities
    assert {line for line, *_ in by_file["logs/numbers.jsonl"]} == {1, 2, 3, 4, 5}
    assert rows["fine-number"][1] == 812.5
    # a CSV row with the wrong number of fields is one reject; the others keep their row numbers
    csv_rejects = by_file["logs/seven-rows.csv"]
    assert [(line, reason.split(" (")[0]) for line, _, reason in csv_rejects] == [
        (2, "CSV row has 4 fields where the header has 5"), (5, "CSV row has 6 fields where the header has 5")]
    assert [rows[f"c{i}"][0] for i in (1, 3, 4, 6, 7)] == [1, 3, 4, 6, 7]
    assert rows["c4"][2] == "multi\nline question"
    assert ("big" in rows) and ("deep" in rows or any(r[0] == 1 for r in by_file.get("logs/deep-nesting.jsonl", [])))


def test_rejects_keep_no_raw_pii(ingested):
    _, _, _, warehouse_path, _ = ingested
    with connect(warehouse_path, read_only=True) as con:
        raw, reason = con.execute("select raw, reason from log_rejects where source_file = 'logs/pii-reject.jsonl'").fetchone()
    assert SSN not in raw and SSN not in reason and "jo@example.org" not in raw
    assert "<US_SSN_" in raw and "latency_ms" in reason  # still says what to fix


def test_a_card_number_in_metadata_keeps_the_window_and_the_json(ingested):
    _, _, cleaned, warehouse_path, _ = ingested
    with connect(warehouse_path, read_only=True) as con:
        metadata = con.execute("select cast(metadata as varchar) from clean_logs where request_id = 'card'").fetchone()[0]
        n_clean, n_raw = con.execute("select (select count(*) from clean_logs), (select count(*) from raw_logs)").fetchone()
    doc = json.loads(metadata)
    assert doc["topic"] == "billing" and doc["card"].startswith("<CREDIT_CARD_") and "4111" not in metadata
    assert n_clean == n_raw == cleaned.rows


def test_source_days_ignore_implausible_dates(ingested):
    _, _, _, warehouse_path, source = ingested
    first, last = source_days(source)
    assert first >= date(2026, 5, 1) and last <= date(2026, 5, 31)
    with connect(warehouse_path, read_only=True) as con:
        days = {r[0] for r in con.execute("select distinct log_date from log_rejects").fetchall()}
    # rejects without a usable day are filed inside the source's days, which a run materializes
    assert days and all(first <= d <= last for d in days)


def test_a_file_of_rejects_keeps_its_day_on_the_next_run(tmp_path):
    _, _, _, warehouse_path, source = _ingest_corpus(tmp_path)
    with connect(warehouse_path, read_only=True) as con:
        before = con.execute("select log_date, count(*) from log_rejects where source_file = 'logs/random-bytes.jsonl' "
                             "group by all").fetchall()
    # new logs arrive later: the old file's rejects stay on their day instead of moving and doubling
    (source / "logs" / "later.jsonl").write_text(json.dumps(record("later", ts="2026-05-20T10:00:00Z")) + "\n")
    with connect(warehouse_path) as con:
        ingest_window(con, source, *WINDOW)
        after = con.execute("select log_date, count(*) from log_rejects where source_file = 'logs/random-bytes.jsonl' "
                            "group by all").fetchall()
    assert after == before and len(before) == 1


def test_retention_purges_cleaned_days_only_and_keeps_their_clean_rows(source, warehouse_path, monkeypatch):
    from pipeline.privacy.cleaning import purge_raw

    logs = source / "logs"
    (logs / "a.jsonl").write_bytes(_jsonl([record(f"old{i}", ts="2026-05-02T10:00:00Z") for i in range(3)]
                                          + [record("bad", ts="2026-05-02T11:00:00Z", latency_ms="slow")]
                                          + [record("new", ts="2026-05-30T10:00:00Z")]))
    anonymizer = Anonymizer(b"k")
    with connect(warehouse_path) as con:
        ingest_window(con, source, date(2026, 5, 1), date(2026, 6, 1))
        # cleaned only up to 05-10: the later day is never purged before its clean rows exist
        clean_window(con, anonymizer, date(2026, 5, 1), date(2026, 5, 10))
        purge = purge_raw(con, today=date(2026, 6, 10), keep_days=30)  # cutoff 2026-05-11
        assert (purge.days, purge.raw_rows, purge.reject_rows) == (1, 3, 1)
        left = con.execute("select (select count(*) from raw_logs), (select count(*) from log_rejects), "
                           "(select count(*) from clean_logs)").fetchone()
        assert left == (1, 0, 3)
        # cleaning the purged day again keeps its clean rows instead of emptying them
        again = clean_window(con, anonymizer, date(2026, 5, 1), date(2026, 6, 1))
        assert again.kept_purged == 1
        assert con.execute("select count(*) from clean_logs").fetchone()[0] == 4
        # the counts stay, so read = loaded + rejected + duplicates still holds
        assert con.execute("select sum(read), sum(loaded), sum(rejected) from log_partitions").fetchone() == (5, 4, 1)
        assert purge_raw(con, today=date(2026, 6, 10), keep_days=0).days == 0  # 0 keeps raw text forever


def test_logs_that_reach_today_file_rejects_on_a_day_that_exists(source, warehouse_path):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    stamps = [(now + timedelta(days=d)).strftime("%Y-%m-%dT00:30:00Z") for d in (-2, -1, 0, 1)]
    (source / "logs" / "a.jsonl").write_bytes(_jsonl([record(f"t{i}", ts=ts) for i, ts in enumerate(stamps)]))
    (source / "logs" / "corrupt.parquet").write_bytes(b"PAR1garbagePAR1")  # modified today
    yesterday = now.date() - timedelta(days=1)
    with connect(warehouse_path) as con:
        ingest_window(con, source, now.date() - timedelta(days=2), now.date())  # the partitions that exist
        days = con.execute("select log_date from log_rejects").fetchall()
    # the file's reject is filed on yesterday, the last daily partition, not on today
    assert days == [(yesterday,)]


def test_an_unreadable_assignment_or_event_file_is_skipped_with_its_reason(tmp_path):
    import polars as pl

    from pipeline.experiments.sources import register_source
    from pipeline.warehouse import scratch

    folder = tmp_path / "assignments"
    folder.mkdir()
    (folder / "good.csv").write_text("experiment_id,user_id,variant,assigned_at\ne1,u1,control,2026-05-01T00:00:00Z\n")
    (folder / "empty.parquet").write_bytes(b"")  # present but empty: nothing to read, nothing wrong
    (folder / "cut.parquet").write_bytes(b"PAR1" + b"\0" * 20)
    (folder / "header-only.csv").write_text("experiment_id,user_id,variant,assigned_at\n")
    pl.DataFrame({"experiment_id": ["e2", "e2"], "user_id": ["u2", "u3"], "variant": ["control", "treatment"],
                  "assigned_at": ["2026-05-02T00:00:00Z"] * 2}).write_parquet(folder / "good.parquet")
    (folder / "one-bad-line.jsonl").write_text(
        '{"experiment_id": "e3", "user_id": "u4", "variant": "control", "assigned_at": "2026-05-03T00:00:00Z"}\n'
        '{"experiment_id": "e3", "user_id": \n')
    with scratch() as con:
        files, counted, unreadable = register_source(con, "assignments", folder)
        rows = con.execute("select experiment_id, user_id, valid from src_assignments order by all").fetchall()
    assert files == 6
    # the good files load whole, the bad JSONL line is kept as an invalid row, the cut Parquet is named
    assert rows == [("e1", "u1", True), ("e2", "u2", True), ("e2", "u3", True), ("e3", "u4", True), (None, None, False)]
    assert counted == len(rows)  # the count the build sizes its buckets with, taken without another read
    assert [(Path(p).name, "parquet" in why.lower() or "footer" in why.lower()) for p, why in unreadable] == [("cut.parquet", True)]
