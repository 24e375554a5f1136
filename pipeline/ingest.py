"""Read production logs of any supported format into typed records and contract rejects.

Files are read as text lines (JSONL, optionally gzipped) or as rows turned into JSON by DuckDB
(CSV, Parquet), then one SQL pass (`sql/logs/parse_lines.sql`) types and validates every record.
A bad line, a bad file or a truncated stream never stops the rest: what cannot be read becomes
a reject naming the file, the line and the problem, and for every daily partition
read = loaded + rejected + duplicates.
"""

from __future__ import annotations

import csv
import gzip
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.warehouse import scratch, statement

KNOWN_FIELDS = (
    "request_id", "timestamp", "user_id", "session_id", "messages", "query", "response", "model",
    "prompt_version", "experiment_id", "variant", "latency_ms", "cost_usd", "input_tokens",
    "output_tokens", "feedback", "metadata",
)
FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".jsonl.gz": "jsonl.gz", ".ndjson.gz": "jsonl.gz", ".json.gz": "jsonl.gz",
    ".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet",
}
MAX_RAW_CHARS = 2000
READ_CHUNK_BYTES = 8 << 20
LINE_SCHEMA = pa.schema([("source_file", pa.string()), ("line_no", pa.int64()),
                         ("text", pa.large_string()), ("read_error", pa.string())])


class SourceError(RuntimeError):
    """The source directory itself is unusable (missing, not a folder, no logs/)."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relpath: str  # relative to the source directory: what rejects and the index name
    fmt: str
    size: int
    mtime_ns: int

    @property
    def mtime_date(self) -> date:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=UTC).date()


def logs_dir(source_dir: str | Path) -> Path:
    root = Path(source_dir)
    if not root.exists():
        raise SourceError(f"source directory {root} does not exist (set EVALFUNNEL_SOURCE or pass --source)")
    if not root.is_dir():
        raise SourceError(f"source {root} is not a directory")
    logs = root / "logs"
    if not logs.is_dir():
        raise SourceError(f"{logs} is missing: the source contract requires a logs/ folder")
    return logs


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def discover(source_dir: str | Path) -> tuple[list[SourceFile], list[str]]:
    """Every log file under logs/ (recursively, sorted), and the names of files skipped."""
    root = Path(source_dir)
    files, skipped = [], []
    for path in sorted(logs_dir(root).rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        fmt = file_format(path)
        rel = path.relative_to(root).as_posix()
        if fmt is None:
            skipped.append(rel)
            continue
        st = path.stat()
        files.append(SourceFile(path, rel, fmt, st.st_size, st.st_mtime_ns))
    return files, skipped


# ---- reading ---------------------------------------------------------------------------------

def _decode(raw_lines: list[bytes]) -> tuple[list[str], list[str | None]]:
    """UTF-8 decode a batch at once; fall back line by line only when the batch has bad bytes."""
    try:
        text = b"\n".join(raw_lines).decode("utf-8")
        return text.split("\n"), [None] * len(raw_lines)
    except UnicodeDecodeError:
        texts, errors = [], []
        for raw in raw_lines:
            try:
                texts.append(raw.decode("utf-8"))
                errors.append(None)
            except UnicodeDecodeError as exc:
                texts.append(raw.decode("utf-8", "replace"))
                errors.append(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-export the file as UTF-8")
        return texts, errors


def _lines_table(relpath: str, first_line: int, raw_lines: list[bytes]) -> pa.Table:
    # blank lines are not records; line numbers still count them
    numbered = [(first_line + i, r.rstrip(b"\r")) for i, r in enumerate(raw_lines)]
    numbered = [(n, r) for n, r in numbered if r.strip()]
    texts, errors = _decode([r for _, r in numbered])
    return pa.table([pa.array([relpath] * len(numbered), pa.string()), pa.array([n for n, _ in numbered], pa.int64()),
                     pa.array(texts, pa.large_string()), pa.array(errors, pa.string())], schema=LINE_SCHEMA)


def _block_table(relpath: str, first_line: int, block: bytes) -> pa.Table:
    """Complete lines (`block` ends with a newline) as Arrow, without a Python object per line.

    numpy finds the line boundaries and Arrow validates UTF-8 in C++. A block with anything the
    fast path does not handle (bad UTF-8, carriage returns, blank or indented lines) goes line by
    line through `_lines_table`, which gives the same result for what both can read.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    slow = (ends == starts).any() or np.isin(data[np.minimum(starts, len(data) - 1)], (9, 32)).any() or (data == 13).any()
    if not slow:
        keep = np.ones(len(data), dtype=bool)
        keep[ends] = False  # the line bodies, without their newlines
        offsets = np.zeros(len(ends) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        binary = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(ends),
                                                  [None, pa.py_buffer(offsets), pa.py_buffer(data[keep])])
        try:
            text = binary.cast(pa.large_string())
        except pa.ArrowInvalid:
            slow = True
    if slow:
        return _lines_table(relpath, first_line, block[:-1].split(b"\n"))
    n = len(ends)
    return pa.table([pa.repeat(pa.scalar(relpath), n), pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
                     text, pa.nulls(n, pa.string())], schema=LINE_SCHEMA)


def _byte_chunks(f: SourceFile) -> Iterator[bytes]:
    """The file's bytes, gunzipped as a stream when compressed.

    Decompressing by hand keeps everything before a break in a truncated upload, and reads
    multi-member gzip files (what log shippers append) to the end. Raises EOFError at a break.
    """
    with open(f.path, "rb") as fh:
        if f.fmt != "jsonl.gz":
            while chunk := fh.read(READ_CHUNK_BYTES):
                yield chunk
            return
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while compressed := fh.read(READ_CHUNK_BYTES):
            while compressed:
                yield inflater.decompress(compressed)
                compressed = inflater.unused_data
                if inflater.eof and compressed:
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
        if not inflater.eof:
            raise EOFError("the gzip stream ends before its end marker (truncated upload?)")


def _jsonl_tables(f: SourceFile) -> Iterator[pa.Table]:
    next_line, pending = 1, b""
    try:
        for chunk in _byte_chunks(f):
            buffer = pending + chunk
            cut = buffer.rfind(b"\n") + 1
            pending = buffer[cut:]
            if cut:
                yield _block_table(f.relpath, next_line, buffer[:cut])
                next_line += buffer.count(b"\n", 0, cut)
    except (EOFError, OSError, zlib.error) as exc:
        # keep every complete line before the break; the cut record is the reject
        lost = f"the file ends early ({exc}); nothing after line {next_line} could be read"
        reason = f"record cut off: {lost}" if pending.strip() else lost
        yield pa.table([pa.array([f.relpath]), pa.array([next_line], pa.int64()),
                        pa.array([pending.decode("utf-8", "replace")], pa.large_string()), pa.array([reason])], schema=LINE_SCHEMA)
        return
    if pending.strip():
        yield _lines_table(f.relpath, next_line, [pending])


def _csv_header(f: SourceFile) -> list[str]:
    opener = gzip.open if f.path.name.endswith(".gz") else open
    try:
        with opener(f.path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            return next(csv.reader(fh), [])
    except (OSError, EOFError, csv.Error):
        return []


def _rows_as_json(con: duckdb.DuckDBPyConnection, f: SourceFile) -> Iterator[pa.Table]:
    """CSV and Parquet rows as JSON text, so one parser validates every format."""
    path = str(f.path)
    if f.fmt == "csv":
        # an empty `response` cell is an empty answer (the contract allows ""), not a missing one
        keep_empty = ", force_not_null = ['response']" if "response" in _csv_header(f) else ""
        scan = f"read_csv($path, all_varchar = true, header = true, ignore_errors = true, store_rejects = true{keep_empty})"
    else:
        scan = "read_parquet($path)"
    # a cursor is its own connection: the scan streams while the caller keeps inserting
    with con.cursor() as cur:
        reader = cur.sql(
            f"select $rel as source_file, cast(row_number() over () as bigint) as line_no, "
            f"cast(to_json(t) as varchar) as text, cast(null as varchar) as read_error from {scan} t",
            params={"path": path, "rel": f.relpath}).to_arrow_reader(100_000)
        for batch in reader:
            yield pa.Table.from_batches([batch]).cast(LINE_SCHEMA)
        if f.fmt == "csv":
            bad = cur.execute("select line, error_type, error_message, csv_line from reject_errors").fetchall()
            if bad:
                yield pa.table([pa.array([f.relpath] * len(bad)), pa.array([int(r[0]) for r in bad], pa.int64()),
                                pa.array([r[3] or "" for r in bad], pa.large_string()),
                                pa.array([f"CSV {r[1].lower()} at line {r[0]}: {r[2]}" for r in bad])], schema=LINE_SCHEMA)


def line_tables(con: duckdb.DuckDBPyConnection, f: SourceFile) -> Iterator[pa.Table]:
    """Batches of (source_file, line_no, text, read_error) for one file; never raises on bad data."""
    try:
        if f.fmt.startswith("jsonl"):
            yield from _jsonl_tables(f)
        else:
            yield from _rows_as_json(con, f)
    except (duckdb.Error, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0][:300]
        yield pa.table([pa.array([f.relpath]), pa.array([0], pa.int64()), pa.array([""], pa.large_string()),
                        pa.array([f"could not read the file as {f.fmt}: {msg}"])], schema=LINE_SCHEMA)


BATCH_LINES = 100_000


def _batched_lines(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> Iterator[pa.Table]:
    """Lines of many files in batches of about BATCH_LINES, read one batch ahead on a thread.

    One large insert parses far faster in DuckDB than many small ones, and reading (gzip, UTF-8)
    overlaps with parsing because both release the GIL. Each batch carries `file_index`, the
    position of its last file, for progress.
    """
    batches: queue.Queue = queue.Queue(maxsize=1)
    done = object()

    def produce() -> None:
        try:
            pending, size = [], 0
            with con.cursor() as reader_con:
                for i, f in enumerate(files):
                    for table in line_tables(reader_con, f):
                        pending.append(table.append_column("file_index", pa.array([i] * table.num_rows, pa.int32())))
                        size += table.num_rows
                        if size >= BATCH_LINES:
                            batches.put(pa.concat_tables(pending))
                            pending, size = [], 0
            if pending:
                batches.put(pa.concat_tables(pending))
            batches.put(done)
        except BaseException as exc:  # surfaced in the consumer, never lost in the thread
            batches.put(exc)

    threading.Thread(target=produce, name="evalfunnel-reader", daemon=True).start()
    while (item := batches.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


# ---- one window --------------------------------------------------------------------------

@dataclass(frozen=True)
class PartitionCounts:
    log_date: date
    files: int
    read: int
    loaded: int
    rejected: int
    duplicates: int


@dataclass
class WindowResult:
    start: date
    end: date  # exclusive
    partitions: list[PartitionCounts] = field(default_factory=list)
    files_read: int = 0
    files_skipped_by_index: int = 0
    unsupported_files: list[str] = field(default_factory=list)
    lines_read: int = 0
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    # files that could not be read at all (also in log_rejects under their modification day)
    file_errors: list[tuple[str, str]] = field(default_factory=list)
    reject_examples: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, reason

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "loaded", "rejected", "duplicates")
        return {k: sum(getattr(p, k) for p in self.partitions) for k in keys}


Progress = Callable[[int, int, int], None]  # files done, files total, lines so far


def _files_to_read(con: duckdb.DuckDBPyConnection, files: list[SourceFile], start: date, end: date) -> list[SourceFile]:
    """Skip files whose indexed dates lie outside the window and that have not changed since."""
    index = {r[0]: r[1:] for r in con.execute(statement("logs/file_index")).fetchall()}
    chosen = []
    for f in files:
        seen = index.get(f.relpath)
        if seen and seen[0] == f.size and seen[1] == f.mtime_ns and seen[2] is not None:
            if seen[3] < start or seen[2] >= end:
                continue
        chosen.append(f)
    return chosen


def ingest_window(con: duckdb.DuckDBPyConnection, source_dir: str | Path, start: date, end: date,
                  progress: Progress | None = None) -> WindowResult:
    """Load every record whose day falls in [start, end) into raw_logs and log_rejects.

    Idempotent: the window's rows in raw_logs, log_rejects and log_partitions are replaced in
    one transaction. Rejects without a usable timestamp are filed under the day of the nearest
    valid record in the same file (else the file's modification day).
    """
    t0 = time.perf_counter()
    result = WindowResult(start, end)
    files, result.unsupported_files = discover(source_dir)
    to_read = _files_to_read(con, files, start, end)
    result.files_skipped_by_index = len(files) - len(to_read)
    parse = statement("logs/parse_lines")
    params = {"max_raw_chars": MAX_RAW_CHARS, "known_fields": list(KNOWN_FIELDS)}
    con.register("lines", LINE_SCHEMA.empty_table())
    con.execute(f"create or replace temp table staged as {parse} limit 0", params)
    con.unregister("lines")
    for lines in _batched_lines(con, to_read):
        con.register("lines", lines)
        con.execute(f"insert into staged {parse}", params)
        con.unregister("lines")
        result.lines_read += lines.num_rows
        if progress:
            progress(lines.column("file_index")[-1].as_py() + 1, len(to_read), result.lines_read)
    result.files_read = len(to_read)
    _attribute_and_write(con, to_read, start, end, result)
    result.seconds = time.perf_counter() - t0
    return result


def _attribute_and_write(con: duckdb.DuckDBPyConnection, read: list[SourceFile], start: date, end: date,
                         result: WindowResult) -> None:
    file_table = pa.table({
        "source_file": [f.relpath for f in read], "size_bytes": [f.size for f in read],
        "mtime_ns": [f.mtime_ns for f in read], "mtime_date": [f.mtime_date for f in read]})
    con.register("read_files", file_table)
    for step in ("attribute_staged", "find_duplicates", "day_files"):
        con.execute(statement(f"logs/{step}"))
    window = {"start": start, "end": end}
    con.execute("begin transaction")
    try:
        con.execute(statement("logs/upsert_file_index"))
        for table in ("raw_logs", "log_rejects", "log_partitions"):
            con.execute(statement(f"logs/delete_{table}_window"), window)
        con.execute(statement("logs/insert_raw_logs"), window)
        con.execute(statement("logs/insert_log_rejects"), window)
        con.execute(statement("logs/insert_log_partitions"), window)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    result.partitions = [PartitionCounts(*r) for r in con.execute(statement("logs/window_partitions"), window).fetchall()]
    result.file_errors = con.execute(statement("logs/unreadable_files")).fetchall()
    con.unregister("read_files")
    result.reject_examples = con.execute(statement("logs/reject_examples"), window).fetchall()
    result.reject_reasons = dict(con.execute(statement("logs/reject_counts"), window).fetchall())


# ---- which days a file touches (sensor, `evalfunnel run`) -----------------------------------

def file_days(f: SourceFile) -> set[date]:
    """The days of the records in one file, by the same parser the ingestion uses."""
    parse = statement("logs/parse_lines")
    params = {"max_raw_chars": 1, "known_fields": list(KNOWN_FIELDS)}
    found: set[date] = set()
    with scratch() as con:
        for lines in line_tables(con, f):
            con.register("lines", lines)
            found.update(r[0] for r in con.execute(f"select distinct ts_date from ({parse}) where ts_date is not null", params).fetchall())
            con.unregister("lines")
    return found


def source_days(source_dir: str | Path) -> tuple[date, date] | None:
    """First and last day with a record in the source's logs (a fast timestamp-only scan).

    Files DuckDB cannot scan directly (truncated, mis-encoded) fall back to the full parser.
    """
    files, _ = discover(source_dir)
    bounds: list[date] = []
    by_format: dict[str, list[SourceFile]] = {}
    for f in files:
        by_format.setdefault(f.fmt.split(".")[0], []).append(f)

    def scan(con: duckdb.DuckDBPyConnection, fmt: str, group: list[SourceFile]) -> list[date]:
        row = con.execute(statement(f"logs/day_range_{fmt}"), {"path": [str(f.path) for f in group]}).fetchone()
        return [d for d in row if d is not None]

    with scratch() as con:
        for fmt, group in by_format.items():
            try:
                bounds.extend(scan(con, fmt, group))  # one scan per format
            except duckdb.Error:
                # a file DuckDB cannot scan (truncated, mis-encoded): file by file, then the parser
                for f in group:
                    try:
                        bounds.extend(scan(con, fmt, [f]))
                    except duckdb.Error:
                        found = file_days(f)
                        bounds.extend([min(found), max(found)] if found else [])
    return (min(bounds), max(bounds)) if bounds else None


def changed_days(files: list[SourceFile], seen: dict[str, list], days_of=file_days) -> tuple[set[date], dict[str, list]]:
    """Days touched by files that are new, changed or gone since `seen` (the sensor's cursor).

    `seen` maps a file to [size, mtime_ns, [iso days]]; a changed or deleted file also
    re-touches the days it used to cover, so its old rows are replaced.
    """
    touched: set[date] = set()
    now: dict[str, list] = {}
    for f in files:
        before = seen.get(f.relpath)
        if before and before[0] == f.size and before[1] == f.mtime_ns:
            now[f.relpath] = before
            continue
        found = days_of(f)
        touched |= found
        if before:
            touched |= {date.fromisoformat(d) for d in before[2]}
        now[f.relpath] = [f.size, f.mtime_ns, sorted(d.isoformat() for d in found)]
    for gone in seen.keys() - now.keys():
        touched |= {date.fromisoformat(d) for d in seen[gone][2]}
    return touched, now
