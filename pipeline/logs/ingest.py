"""Read production logs of any supported format into typed records and contract rejects.

Files are read as text lines (JSONL, optionally gzipped) or as rows turned into JSON by DuckDB
(CSV, Parquet), then one SQL pass (`sql/logs/parse_lines.sql`) types and validates every record.
A bad line, a bad file or a truncated stream never stops the rest: what cannot be read becomes
a reject naming the file, the line and the problem, and for every daily partition
read = loaded + rejected + duplicates.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import queue
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.warehouse import cursor, retrying, scratch, statement

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
# Plausible values (the input contract): a number outside its range is a reject, never a NULL
# or an infinity that reaches a statistic. Latency up to a day, cost up to $10,000 a request,
# up to 100M tokens (the largest context windows are around 10M).
NUMBER_LIMITS = {"latency_ms": 86_400_000.0, "cost_usd": 10_000.0, "input_tokens": 1e8, "output_tokens": 1e8}
# Timestamps before EVALFUNNEL_LOGS_SINCE (default 2020-01-01: no LLM product logged earlier)
# or more than a day after the ingestion (clock skew) are rejects: one record dated 1970 must
# not stretch the partitions over 20,000 days.
LOGS_SINCE_VAR = "EVALFUNNEL_LOGS_SINCE"
DEFAULT_LOGS_SINCE = "2020-01-01"
FUTURE_TOLERANCE = timedelta(days=1)
LINE_SCHEMA = pa.schema([("source_file", pa.string()), ("line_no", pa.int64()),
                         ("text", pa.large_string()), ("read_error", pa.string())])


class SourceError(RuntimeError):
    """The source directory itself is unusable (missing, not a folder, no logs/)."""


def accepted_time_range(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[since, until]: the timestamps a log record may carry (see LOGS_SINCE_VAR)."""
    raw = os.environ.get(LOGS_SINCE_VAR, "").strip() or DEFAULT_LOGS_SINCE
    try:
        since = datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
    except ValueError as exc:
        raise SourceError(f"{LOGS_SINCE_VAR}={raw!r} is not a date (YYYY-MM-DD)") from exc
    return since, (now or datetime.now(UTC)) + FUTURE_TOLERANCE


# what ids are trimmed of: ASCII whitespace, no-break and other Unicode spaces, zero-width
# spaces and the byte-order mark ('dup\u00a0' and 'dup' are one request)
ID_SPACE = "".join(map(chr, (32, 9, 10, 11, 12, 13, 0xA0, 0x1680, *range(0x2000, 0x200C), 0x2028, 0x2029, 0x202F,
                             0x205F, 0x3000, 0xFEFF)))


def parse_params(max_raw_chars: int = MAX_RAW_CHARS) -> dict:
    """The named parameters of sql/logs/parse_lines.sql."""
    since, until = accepted_time_range()
    return {"max_raw_chars": max_raw_chars, "known_fields": list(KNOWN_FIELDS), "ts_min": since, "ts_max": until,
            "id_space": ID_SPACE, **{f"max_{k}": v for k, v in NUMBER_LIMITS.items()}}


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


def _walk_files(top: Path) -> Iterator[Path]:
    """Files under `top`, recursively, following directory links once each (a link back up the
    tree, or two links to one folder, are read once, never looped)."""
    seen: set[str] = set()
    for folder, dirs, names in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in names:
            yield Path(folder) / name


def discover(source_dir: str | Path) -> tuple[list[SourceFile], list[str]]:
    """Every log file under logs/ (recursively, sorted), and the names of files skipped."""
    root = Path(source_dir)
    files, skipped = [], []
    for path in sorted(_walk_files(logs_dir(root))):
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
    if not raw_lines:
        return [], []
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


class FileLevelError(ValueError):
    """The file as a whole cannot be read in its format (not gzip, not Parquet): one reject
    at line 0, and the file's `log_files.error`."""


def _raw_chunks(f: SourceFile) -> Iterator[bytes]:
    """The file's bytes, gunzipped as a stream when compressed.

    Decompressing by hand keeps everything before a break in a truncated upload, and reads
    multi-member gzip files (what log shippers append) to the end. Raises EOFError at a break.
    """
    with open(f.path, "rb") as fh:
        if not f.path.name.lower().endswith(".gz"):
            while chunk := fh.read(READ_CHUNK_BYTES):
                yield chunk
            return
        compressed = fh.read(READ_CHUNK_BYTES)
        if not compressed:
            return  # an empty file holds no records, compressed or not
        if not compressed.startswith(b"\x1f\x8b"):
            raise FileLevelError(f"not a gzip file (it starts with {compressed[:8]!r}): "
                                 "compress it, or drop the .gz from its name")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while compressed:
            while compressed:
                yield inflater.decompress(compressed)
                compressed = inflater.unused_data
                if inflater.eof and compressed:
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
            compressed = fh.read(READ_CHUNK_BYTES)
        if not inflater.eof:
            raise EOFError("the gzip stream ends before its end marker (truncated upload?)")


def _byte_chunks(f: SourceFile) -> Iterator[bytes]:
    """The file's text as UTF-8 bytes: a UTF-8 byte-order mark is dropped, and a UTF-16 file
    (recognised by its byte-order mark, as Windows tools write it) is transcoded."""
    chunks = _raw_chunks(f)
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 4:
            break
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        yield decoder.decode(first).encode("utf-8")
        for chunk in chunks:
            yield decoder.decode(chunk).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
        return
    if first:
        yield first
    yield from chunks


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
        yield _error_table(f, next_line, reason, pending.decode("utf-8", "replace"))
        return
    if pending.strip():
        yield _lines_table(f.relpath, next_line, [pending])


def _error_table(f: SourceFile, line: int, reason: str, text: str = "") -> pa.Table:
    return pa.table([pa.array([f.relpath]), pa.array([line], pa.int64()), pa.array([text], pa.large_string()),
                     pa.array([reason])], schema=LINE_SCHEMA)


def _physical_lines(f: SourceFile) -> Iterator[bytes]:
    pending = b""
    for chunk in _byte_chunks(f):
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def _csv_rows_as_json(header: list[str]) -> str:
    """The query that turns `csv_rows` (columns c0, c1, ... of text) into one JSON object a row,
    keyed by the header's names."""
    names = ", ".join(f'c{i} as "{h.replace(chr(34), chr(34) * 2)}"' for i, h in enumerate(header))
    return f"select cast(to_json(t) as varchar) as text from (select {names} from csv_rows) t"


def _csv_tables(con: duckdb.DuckDBPyConnection, f: SourceFile) -> Iterator[pa.Table]:
    """CSV rows as JSON texts, numbered by data row (1 = the first row after the header).

    Python's csv module splits the rows (quoted newlines included), so a malformed row is one
    reject with its own number and the rows after it keep theirs; DuckDB turns the row batches
    into JSON. Empty cells are missing values, except `response`, where "" is an empty answer.
    """
    bad_lines: dict[int, str] = {}
    physical = 0

    def decoded() -> Iterator[str]:
        nonlocal physical
        for raw in _physical_lines(f):
            physical += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_lines[physical] = (f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                                       "re-export the file as UTF-8")
                yield raw.decode("utf-8", "replace")

    reader = csv.reader(decoded(), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    width = len(header)
    columns: list[list] = [[] for _ in header]
    numbers: list[int] = []
    rejects: list[tuple[int, str, str]] = []

    def flush() -> pa.Table:
        table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
        with con.cursor() as cur:
            cur.register("csv_rows", table)
            texts = cur.sql(_csv_rows_as_json(header)).fetch_arrow_table()
        out = pa.table([pa.repeat(pa.scalar(f.relpath), len(numbers)), pa.array(numbers, pa.int64()),
                        texts.column(0).cast(pa.large_string()), pa.nulls(len(numbers), pa.string())], schema=LINE_SCHEMA)
        for col in columns:
            col.clear()
        numbers.clear()
        return out

    row_no, previous_end = 0, 1
    try:
        for row in reader:
            start_line, previous_end = previous_end + 1, reader.line_num
            if not row or row == [""]:
                continue  # a blank line is not a record
            row_no += 1
            bad = next((bad_lines[n] for n in range(start_line, reader.line_num + 1) if n in bad_lines), None)
            if bad or len(row) != width:
                reason = bad or f"CSV row has {len(row)} fields where the header has {width}"
                rejects.append((row_no, f"{reason} (file line {start_line})", ",".join(row)))
                continue
            numbers.append(row_no)
            for i, value in enumerate(row):
                columns[i].append(value if value != "" or header[i] == "response" else None)
            if len(numbers) >= BATCH_LINES:
                yield flush()
    except csv.Error as exc:
        rejects.append((row_no + 1, f"CSV cannot be parsed after file line {reader.line_num}: {exc}", ""))
    except (EOFError, OSError, zlib.error) as exc:
        rejects.append((row_no + 1, f"the file ends early ({exc}); nothing after data row {row_no} could be read", ""))
    if numbers:
        yield flush()
    if rejects:
        yield pa.table([pa.array([f.relpath] * len(rejects)), pa.array([r[0] for r in rejects], pa.int64()),
                        pa.array([r[2] for r in rejects], pa.large_string()), pa.array([r[1] for r in rejects])],
                       schema=LINE_SCHEMA)


def _parquet_tables(con: duckdb.DuckDBPyConnection, f: SourceFile) -> Iterator[pa.Table]:
    """Parquet rows as JSON text, so one parser validates every format."""
    # a cursor is its own connection: the scan streams while the caller keeps inserting
    with cursor(con) as cur:
        try:
            # execute, not sql(params=): a relation with parameters is run and held whole first
            reader = cur.execute(
                "select $rel as source_file, cast(row_number() over () as bigint) as line_no, "
                "cast(to_json(t) as varchar) as text, cast(null as varchar) as read_error from read_parquet($path) t",
                {"path": str(f.path), "rel": f.relpath}).to_arrow_reader(100_000)
        except duckdb.Error as exc:
            raise FileLevelError(str(exc).splitlines()[0][:300]) from exc
        for batch in reader:
            yield pa.Table.from_batches([batch]).cast(LINE_SCHEMA)


def line_tables(con: duckdb.DuckDBPyConnection, f: SourceFile) -> Iterator[pa.Table]:
    """Batches of (source_file, line_no, text, read_error) for one file; never raises on bad data.

    A file that cannot be read at all gives one reject at line 0 (it lands in log_files.error).
    """
    try:
        if f.fmt.startswith("jsonl"):
            yield from _jsonl_tables(f)
        elif f.fmt == "csv":
            yield from _csv_tables(con, f)
        else:
            yield from _parquet_tables(con, f)
    except FileLevelError as exc:
        yield _error_table(f, 0, f"could not read the file as {f.fmt}: {exc}")
    except (duckdb.Error, csv.Error, OSError, ValueError, EOFError, zlib.error) as exc:
        # csv.Error: a CSV header the csv module cannot split (lines ended by CR alone)
        msg = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        yield _error_table(f, 0, f"could not read the file as {f.fmt}: {msg}")


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
            with cursor(con) as reader_con:
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
    files_skipped_by_scan: int = 0  # not in the index, and a timestamp scan put them outside the window
    unsupported_files: list[str] = field(default_factory=list)
    lines_read: int = 0
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    # files that gave no valid record: unreadable as a whole, or every line rejected (log_files.error)
    file_errors: list[tuple[str, str]] = field(default_factory=list)
    reject_examples: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, reason

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "loaded", "rejected", "duplicates")
        return {k: sum(getattr(p, k) for p in self.partitions) for k in keys}


Progress = Callable[[int, int, int], None]  # files done, files total, lines so far
Scrub = Callable[["pl.DataFrame", list[str]], "pl.DataFrame"]  # scrubs the named text columns


SCANNED_FORMATS = ("jsonl", "parquet", "csv")  # DuckDB, or for CSV the ingest's own reader
SCAN_FILES_PER_QUERY = 16


def _strict_ranges(con: duckdb.DuckDBPyConnection, fmt: str, group: list[SourceFile]) -> dict[str, tuple[date, date]]:
    """_scan_ranges of the files a strict scan can read, SCAN_FILES_PER_QUERY files a query (a
    query costs ~3 ms); when one fails, the file the error names is set aside (else the files are
    halved) and the rest scanned again, so a bad file costs a rescan of a few files."""
    # Parquet one file a query: DuckDB casts a multi-file scan to the first file's column type
    # (a double epoch rounded up past midnight, a text offset dropped by a TIMESTAMP column)
    size = SCAN_FILES_PER_QUERY if fmt == "jsonl" else 1
    pending = [group[i:i + size] for i in range(0, len(group), size)][::-1]
    ranges: dict[str, tuple[date, date]] = {}
    while pending:
        files = pending.pop()
        try:
            ranges.update(_scan_ranges(con, fmt, files, lenient=False))
        except duckdb.Error as exc:
            named = re.search(r'in file "(.+?)"', str(exc))
            rest = [f for f in files if not named or str(f.path) != named.group(1)]
            if len(rest) < len(files):
                pending.extend([rest] if rest else [])
            elif len(files) > 1:
                pending.extend([files[:len(files) // 2], files[len(files) // 2:]])
    return ranges


def _plain_timestamp_column(f: SourceFile) -> bool:
    """Whether a Parquet file has one column named `timestamp` in any case, spelt so: DuckDB
    finds `Timestamp` as `timestamp`, the parser (which sees the row as JSON) does not."""
    import pyarrow.parquet as pq

    try:
        names = [n for n in pq.read_schema(f.path).names if n.lower() == "timestamp"]
    except (OSError, pa.ArrowException):
        return False
    return names == ["timestamp"]


def _csv_timestamps(f: SourceFile) -> tuple[list[str], list[str | None]] | None:
    """The header and the `timestamp` cell of every row of a CSV file (an empty cell None), the
    rows split as _csv_tables splits them; None when the file has no one column spelt
    `timestamp` (in any case), or a row the ingest would reject for its shape, its encoding or a
    read error."""

    def blocks() -> Iterator[io.StringIO]:
        # the text in blocks of whole lines, split at "\n" only as _physical_lines splits it (a
        # UTF-8 character never holds that byte): the csv module reads each block's lines in C
        pending = b""
        for chunk in _byte_chunks(f):
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut:
                yield io.StringIO(pending[:cut].decode("utf-8"), newline="\n")
                pending = pending[cut:]
        if pending:
            yield io.StringIO(pending.decode("utf-8"), newline="\n")

    try:
        reader = csv.reader(itertools.chain.from_iterable(blocks()), strict=False)
        header = [h.strip() for h in next(reader)]
        if [h.lower() for h in header].count("timestamp") != 1 or "timestamp" not in header:
            return None
        column, width, cells = header.index("timestamp"), len(header), []
        for row in reader:
            if not row or row == [""]:
                continue  # a blank line is not a record
            if len(row) != width:
                return None
            cells.append(row[column] or None)
    except (StopIteration, UnicodeDecodeError, csv.Error, EOFError, OSError, zlib.error):
        return None
    return header, cells


def _csv_ranges(con: duckdb.DuckDBPyConnection, group: list[SourceFile]) -> dict[str, tuple[date, date]]:
    """Each CSV file's first and last day (sql/logs/day_range_csv_cells.sql), for the files
    _csv_timestamps vouches for, keyed by path. Python's csv module splits the rows, as in the
    ingest (DuckDB's reader may split a malformed file otherwise): about a third of the read's cost."""
    since, until = accepted_time_range()
    ranges: dict[str, tuple[date, date]] = {}
    for f in group:
        found = _csv_timestamps(f)
        if not found or not found[1]:
            continue
        header, cells = found
        # the reader's query must take the header (an empty name, as pandas writes an index
        # column, fails it and the whole file is one reject the scan cannot date): tried on no rows
        con.register("csv_rows", pa.table({f"c{i}": pa.array([], pa.string()) for i in range(len(header))}))
        try:
            con.execute(_csv_rows_as_json(header)).fetchall()
        except duckdb.Error:
            continue
        finally:
            con.unregister("csv_rows")
        con.register("csv_timestamps", pa.table({"ts": pa.array(cells, pa.string())}))
        try:
            row = con.execute(statement("logs/day_range_csv_cells"), {"ts_min": since, "ts_max": until}).fetchone()
        finally:
            con.unregister("csv_timestamps")
        if row and row[2]:  # every timestamp in the accepted range (see _scan_ranges)
            ranges[str(f.path)] = (row[0], row[1])
    return ranges


def _scan_days(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> dict[str, tuple[date, date]]:
    """Each file's first and last day by a timestamp-only scan (~5x cheaper than the parse), for
    the files the scan can vouch for; the ingest reads the others whatever the window.

    A file's records cannot reach a day outside its scanned range: a record's day is its
    timestamp's, and a reject without a usable one takes the day of the nearest record in the
    same file that has one (sql/logs/attribute_staged.sql). Every file is scanned strictly: a
    JSONL line that is not a JSON object, bad UTF-8 or a truncated gzip fails the scan and the
    file is read; a Parquet file only with a column spelt `timestamp`, one file a query; a CSV
    file by the ingest's own row splitting, only with one column spelt `timestamp` and no row of
    another width (_csv_timestamps). A file without a timestamp in the accepted range gives none
    (its rejects take the file's day)."""
    by_format: dict[str, list[SourceFile]] = {}
    for f in files:
        if f.fmt.split(".")[0] in SCANNED_FORMATS and (f.fmt != "parquet" or _plain_timestamp_column(f)):
            by_format.setdefault(f.fmt.split(".")[0], []).append(f)
    ranges: dict[str, tuple[date, date]] = {}
    with cursor(con) as scan_con:
        for fmt, group in by_format.items():
            ranges.update(_csv_ranges(scan_con, group) if fmt == "csv" else _strict_ranges(scan_con, fmt, group))
    return {f.relpath: ranges[str(f.path)] for f in files if str(f.path) in ranges}


def _current(known: dict[str, tuple], f: SourceFile) -> tuple[date, date] | None:
    """The days `known` (the file index, or the scans) holds for the file as it is now."""
    seen = known.get(f.relpath)
    return (seen[2], seen[3]) if seen and seen[0] == f.size and seen[1] == f.mtime_ns and seen[2] is not None else None


def _files_to_read(con: duckdb.DuckDBPyConnection, files: list[SourceFile], index: dict[str, tuple],
                   start: date, end: date, result: WindowResult) -> tuple[list[SourceFile], dict[str, tuple[date, date]],
                                                                           pa.Table | None]:
    """The files that may hold records of [start, end): all but those whose days, as the file
    index (files read before) or a timestamp scan knows them, lie outside the window. Files
    neither knows are scanned now (the first run for one day of a source no run has read used
    to parse the whole source, and two workers splitting a backfill each parsed all of it).
    Returns them, the days of every known file not read (for the source's span), and the new
    scans of the files skipped (for log_file_scans), if any."""
    scans = {r[0]: r[1:] for r in con.execute(statement("logs/file_scans")).fetchall()}
    known = {f.relpath: days for f in files if (days := _current(index, f) or _current(scans, f))}
    unknown = [f for f in files if f.relpath not in known]
    scanned = _scan_days(con, unknown) if unknown else {}
    to_read, skipped, new_scans = [], {}, []
    for f in files:
        days = known.get(f.relpath) or scanned.get(f.relpath)
        if days is None or (days[1] >= start and days[0] < end):
            to_read.append(f)
            continue
        skipped[f.relpath] = days
        if _current(index, f):
            result.files_skipped_by_index += 1
        else:
            result.files_skipped_by_scan += 1
            if f.relpath in scanned:
                new_scans.append((f, *days))
    table = pa.table({"source_file": [f.relpath for f, *_ in new_scans], "size_bytes": [f.size for f, *_ in new_scans],
                      "mtime_ns": [f.mtime_ns for f, *_ in new_scans], "first_date": [d[0] for _, *d in new_scans],
                      "last_date": [d[1] for _, *d in new_scans]},
                     schema=pa.schema([("source_file", pa.string()), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()),
                                       ("first_date", pa.date32()), ("last_date", pa.date32())])) if new_scans else None
    return to_read, skipped, table


def ingest_window(con: duckdb.DuckDBPyConnection, source_dir: str | Path, start: date, end: date,
                  progress: Progress | None = None, scrub: Scrub | None = None) -> WindowResult:
    """Load every record whose day falls in [start, end) into raw_logs and log_rejects.

    Idempotent: the window's rows in raw_logs, log_rejects and log_partitions are replaced in
    one transaction, the file index (log_files, log_file_scans) updated in a second. Rejects
    without a usable timestamp are dated as sql/logs/attribute_staged.sql says. `scrub` (the anonymizer's, in the pipeline) is applied to each reject's raw text and
    reason before they are stored: rejects are read by people and shown in the UI.
    """
    t0 = time.perf_counter()
    result = WindowResult(start, end)
    files, result.unsupported_files = discover(source_dir)
    index = {r[0]: r[1:] for r in con.execute(statement("logs/file_index")).fetchall()}
    to_read, skipped, new_scans = _files_to_read(con, files, index, start, end, result)
    parse = statement("logs/parse_lines")
    params = parse_params()
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
    _attribute_and_write(con, to_read, index, start, end, result, scrub, skipped, new_scans)
    result.seconds = time.perf_counter() - t0
    return result


def _source_bounds(con: duckdb.DuckDBPyConnection, skipped: dict[str, tuple[date, date]]) -> tuple[date | None, date | None]:
    """First and last day of a usable timestamp in the whole source (this run's records, valid
    or rejected, plus the days the file index or a timestamp scan knows of the files it did not
    read: the same span whichever window a run covers), capped at yesterday: days end complete,
    so the last daily partition is yesterday's, and a reject filed later would wait unseen."""
    staged = con.execute("select min(ts_date), max(ts_date) from staged").fetchone()
    days = [d for d in staged if d is not None] + [d for first_last in skipped.values() for d in first_last]
    if not days:
        return None, None
    last_complete = last_complete_day()
    return min(min(days), last_complete), min(max(days), last_complete)


def last_complete_day() -> date:
    """Yesterday (UTC): days are ingested once complete, so the last daily partition."""
    return datetime.now(UTC).date() - timedelta(days=1)


def _scrub_rejects(con: duckdb.DuckDBPyConnection, scrub: Scrub) -> None:
    """Replace reject_days' raw text and reason with their scrubbed versions."""
    import polars as pl

    frame = pl.from_arrow(con.sql("select * from reject_days").to_arrow_table())
    if not frame.height:
        return
    con.register("scrubbed_rejects", scrub(frame, ["raw", "reject_reason"]).to_arrow())
    con.execute("create or replace temp table reject_days as select * from scrubbed_rejects")
    con.unregister("scrubbed_rejects")


def _attribute_and_write(con: duckdb.DuckDBPyConnection, read: list[SourceFile], index: dict[str, tuple],
                         start: date, end: date, result: WindowResult, scrub: Scrub | None,
                         skipped: dict[str, tuple[date, date]], new_scans: pa.Table | None) -> None:
    def indexed_day(f: SourceFile) -> date | None:
        seen = index.get(f.relpath)
        return seen[2] if seen and seen[0] == f.size and seen[1] == f.mtime_ns else None

    file_table = pa.table({
        "source_file": pa.array([f.relpath for f in read], pa.string()),
        "size_bytes": pa.array([f.size for f in read], pa.int64()),
        "mtime_ns": pa.array([f.mtime_ns for f in read], pa.int64()),
        "mtime_date": pa.array([f.mtime_date for f in read], pa.date32()),
        "indexed_day": pa.array([indexed_day(f) for f in read], pa.date32())})
    con.register("read_files", file_table)
    if new_scans is not None:
        con.register("scanned_files", new_scans)
    src_first, src_last = _source_bounds(con, skipped)
    con.execute(statement("logs/attribute_staged"),
                {"src_first": src_first, "src_last": src_last, "last_complete": last_complete_day()})
    if scrub is not None:
        _scrub_rejects(con, scrub)
    for step in ("find_duplicates", "day_files"):
        con.execute(statement(f"logs/{step}"))
    window = {"start": start, "end": end}
    def write_window() -> None:
        for table in ("raw_logs", "log_rejects", "log_partitions"):
            con.execute(statement(f"logs/delete_{table}_window"), window)
        con.execute(statement("logs/insert_raw_logs"), window)
        con.execute(statement("logs/insert_log_rejects"), window)
        con.execute(statement("logs/insert_log_partitions"), window)

    def write_file_index() -> None:
        con.execute(statement("logs/lock_file_index"))
        con.execute(statement("logs/upsert_file_index"))
        if new_scans is not None:
            con.execute(statement("logs/upsert_file_scans"))

    # Two transactions: the window's rows (runs on disjoint windows commit them side by side on a
    # lake), then the file index under its lock (a second run's commit conflicts there and is
    # retried, redoing a few small merges, not the window's insert). Either order is safe if a
    # process dies between them: a file the index does not know, or knows with another size or
    # mtime, is read again; the index is written second so that it says a file was read only
    # once its rows are in.
    what = f"ingest {start}..{end - timedelta(days=1)}"
    retrying(con, write_window, what)
    retrying(con, write_file_index, f"{what}, file index")
    result.partitions = [PartitionCounts(*r) for r in con.execute(statement("logs/window_partitions"), window).fetchall()]
    result.file_errors = con.execute(statement("logs/unreadable_files")).fetchall()
    con.unregister("read_files")
    if new_scans is not None:
        con.unregister("scanned_files")
    result.reject_examples = con.execute(statement("logs/reject_examples"), window).fetchall()
    result.reject_reasons = dict(con.execute(statement("logs/reject_counts"), window).fetchall())


# ---- which days a file touches (sensor, `evalfunnel run`) -----------------------------------

def file_days(f: SourceFile) -> set[date]:
    """The days of the records in one file, by the same parser the ingestion uses."""
    parse = statement("logs/parse_lines")
    params = parse_params(max_raw_chars=1)
    found: set[date] = set()
    with scratch() as con:
        for lines in line_tables(con, f):
            con.register("lines", lines)
            found.update(r[0] for r in con.execute(f"select distinct ts_date from ({parse}) where ts_date is not null", params).fetchall())
            con.unregister("lines")
    return found


def _scan_ranges(con: duckdb.DuckDBPyConnection, fmt: str, group: list[SourceFile], *,
                 lenient: bool) -> dict[str, tuple[date, date]]:
    """Each file's first and last day in the accepted time range by a timestamp-only DuckDB scan
    (sql/logs/day_range_<format>.sql), keyed by path; a file with no such timestamp is absent.
    Not lenient (the ingest's scan, whose days let a window skip the file): a line that is not
    JSON fails the whole scan, and a file with a timestamp outside the accepted range is absent
    (its reject would be a record on its own day once the range moves; the scan is remembered)."""
    since, until = accepted_time_range()
    params = {"path": [str(f.path) for f in group], "ts_min": since, "ts_max": until}
    if fmt != "parquet":
        params["lenient"] = lenient
    return {row[0]: (row[1], row[2]) for row in con.execute(statement(f"logs/day_range_{fmt}"), params).fetchall()
            if lenient or row[3]}


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
        return [d for first_last in _scan_ranges(con, fmt, group, lenient=True).values() for d in first_last]

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
