"""clean_logs: raw_logs with every text scrubbed of PII and identifiers pseudonymized.

Streams one day at a time (memory bounded by a day of logs). Scrubbed: every message's content,
the response, feedback.edited_response, and the metadata and unknown-field JSON (as text: the
anonymizer's patterns never cross a JSON quote, so the JSON stays valid). user_id and session_id
become HMAC-SHA256 pseudonyms.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from queue import SimpleQueue

import duckdb
import polars as pl

from pipeline.privacy.anonymize import Anonymizer, scan_for_residue
from pipeline.warehouse import cursor, insert_rows, retrying, statement


@dataclass
class CleanResult:
    start: date
    end: date
    rows: int = 0
    days: int = 0
    replaced: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    kept_purged: int = 0  # days whose raw rows were purged: their clean rows stay as they are


_FLAT_TEXTS = {  # field name in the stacked frame -> expression on a raw_logs day
    "response": pl.col("response"),
    "edited_response": pl.col("feedback").struct.field("edited_response"),
    "metadata": pl.col("metadata"),
    "extra": pl.col("extra"),
}


def scrub_day(frame: pl.DataFrame, anonymizer: Anonymizer) -> tuple[pl.DataFrame, Counter]:
    """One day of raw_logs rows (as from sql/privacy/raw_day.sql) made safe to keep.

    Every text of the day goes through one scrub, so a name found in one place (after "my name
    is" in a user turn) is replaced everywhere it appears, the answer included.
    """
    frame = frame.with_row_index("_row")
    turns = frame.select("_row", "messages").explode("messages").unnest("messages").with_row_index("_turn")
    stacked = pl.concat([
        turns.select(pl.lit("content").alias("_field"), pl.col("_turn").alias("_key"), pl.col("content").alias("_text")),
        *(frame.select(pl.lit(name).alias("_field"), pl.col("_row").alias("_key"), expr.alias("_text"))
          for name, expr in _FLAT_TEXTS.items()),
    ])
    stacked, counts = anonymizer.scrub(stacked, ["_text"])
    texts = stacked.partition_by("_field", as_dict=True, include_key=False)

    def field_texts(name: str) -> pl.Series:
        return texts[(name,)].sort("_key").get_column("_text")

    messages = (turns.with_columns(field_texts("content").alias("content"))
                .group_by("_row", maintain_order=True).agg(pl.struct("role", "content").alias("messages")))
    out = (frame.drop("messages").join(messages, on="_row", how="left").sort("_row")
           .with_columns(
               field_texts("response").alias("response"),
               field_texts("metadata").alias("metadata"),
               field_texts("extra").alias("extra"),
               pl.col("feedback").struct.with_fields(field_texts("edited_response").alias("edited_response")),
               anonymizer.pseudonym_expr("user_id", "user"),
               anonymizer.pseudonym_expr("session_id", "session")))
    out = out.with_columns(_valid_json(out.get_column(c), frame.get_column(c), anonymizer) for c in ("metadata", "extra"))
    return out.select(frame.drop("_row").columns), counts


def _valid_json(scrubbed: pl.Series, original: pl.Series, anonymizer: Anonymizer) -> pl.Series:
    """`scrubbed` where it is still valid JSON; elsewhere the original scrubbed value by value.

    Scrubbing JSON as text is fast and right for string values, but a card number or phone
    logged as a JSON number becomes an unquoted placeholder. Only changed texts are checked
    (few), and only broken ones are rebuilt: every string, key and number is scrubbed on its
    own, and a number that held PII becomes its placeholder string.
    """
    changed = scrubbed.ne_missing(original).arg_true().to_list()
    broken = []
    for i in changed:
        try:
            json.loads(scrubbed[i])
        except (json.JSONDecodeError, TypeError):
            broken.append(i)
    if not broken:
        return scrubbed
    values = scrubbed.to_list()
    for i, fixed in zip(broken, scrub_json_values([original[i] for i in broken], anonymizer)):
        values[i] = fixed
    return pl.Series(scrubbed.name, values, dtype=pl.String)


def scrub_json_values(texts: list[str], anonymizer: Anonymizer) -> list[str]:
    """Scrub each JSON document's keys, strings and numbers separately; the result stays JSON."""
    docs = [json.loads(t) for t in texts]
    leaves: list[str] = []

    def collect(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                leaves.append(k)
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)
        elif isinstance(node, str) or (isinstance(node, (int, float)) and not isinstance(node, bool)):
            leaves.append(node if isinstance(node, str) else json.dumps(node))

    for doc in docs:
        collect(doc)
    scrubbed_frame, _ = anonymizer.scrub(pl.DataFrame({"t": leaves}, schema={"t": pl.String}), ["t"])
    mapping = dict(zip(leaves, scrubbed_frame.get_column("t").to_list()))

    def rebuild(node):
        if isinstance(node, dict):
            return {mapping.get(k, k): rebuild(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rebuild(v) for v in node]
        if isinstance(node, str):
            return mapping.get(node, node)
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            text = json.dumps(node)
            return node if mapping.get(text, text) == text else mapping[text]
        return node

    return [json.dumps(rebuild(doc), ensure_ascii=False) for doc in docs]


AHEAD = 2  # days read and scrubbed ahead of the one being written
WORKERS = 2  # days scrubbed at once: Polars runs one day's regex passes on about one core


WORKERS_VAR = "EVALFUNNEL_CLEAN_WORKERS"


def clean_workers() -> int:
    """Days scrubbed at once: EVALFUNNEL_CLEAN_WORKERS (a worker given one core: 1), else WORKERS."""
    raw = os.environ.get(WORKERS_VAR, "").strip()
    if not raw:
        return WORKERS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{WORKERS_VAR}={raw!r}: give a whole number of days scrubbed at once, 1 or more")
    return int(raw)


def _scrubbed_days(con: duckdb.DuckDBPyConnection, anonymizer: Anonymizer,
                   days: list[date]) -> Iterator[tuple[date, int, object, Counter]]:
    """(day, raw rows, cleaned rows as Arrow, replacements) in day order.

    Days are read and scrubbed on WORKERS threads (each with its own cursor: they read raw_logs,
    committed by the ingestion) while the caller writes the earliest finished day: DuckDB's
    writes, its reads and Polars' regex release the GIL, so on two cores two days are scrubbed
    at once and the writing overlaps them. At most AHEAD + 1 days are in memory at once."""
    workers = clean_workers()
    readers = [cursor(con) for _ in range(workers)]  # opened here, on the caller's thread
    free: SimpleQueue = SimpleQueue()
    for reader in readers:
        free.put(reader)
    local = threading.local()  # each worker thread takes one reader for good

    def work(day: date) -> tuple[date, int, object, Counter]:
        if not hasattr(local, "reader"):
            local.reader = free.get_nowait()
        reader = local.reader
        raw = pl.from_arrow(reader.execute(statement("privacy/raw_day"), {"day": day}).to_arrow_table())
        if not raw.height:
            return day, 0, None, Counter()
        cleaned, counts = scrub_day(raw, anonymizer)
        return day, raw.height, cleaned.to_arrow(), counts

    pool = ThreadPoolExecutor(workers, thread_name_prefix="evalfunnel-scrub")
    pending: deque[Future] = deque()
    try:
        for day in days:
            pending.append(pool.submit(work, day))
            if len(pending) > AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # at most the days in progress finish
        for reader in readers:
            reader.close()


COMMIT_ROWS = 50_000  # scrubbed rows of whole days held in memory and committed together


def clean_window(con: duckdb.DuckDBPyConnection, anonymizer: Anonymizer, start: date, end: date,
                 progress: Callable[[int, int, int], None] | None = None) -> CleanResult:
    """Replace clean_logs and pii_replacements for [start, end), a day at a time.

    A day whose raw rows were purged (retention) and not ingested again keeps its clean rows.
    Consecutive days are committed together once they hold COMMIT_ROWS rows, on both backends:
    every day (a partition) is replaced whole or not at all, and memory holds one chunk's
    uncommitted rows, not the window's (the embedded file's one transaction a window grew with
    the window's rows: the end of clean_logs on a month of 300k records was the process's peak,
    1.9-2.1 GB; in chunks clean_logs peaks at ~1.55 GB). On a DuckLake, whose commits can
    conflict with another run's and are then written again (warehouse.retrying), a conflict
    repeats the inserts of one chunk, never the scrub.
    """
    t0 = time.perf_counter()
    result = CleanResult(start, end)
    window = {"start": start, "end": end}
    kept = {r[0] for r in con.execute(statement("privacy/purged_days"), window).fetchall()}
    days = [d for d in (start + timedelta(days=i) for i in range((end - start).days)) if d not in kept]
    result.kept_purged = len(kept)

    def replace(first: date, last: date, cleaned_days: Iterator[tuple[date, int, object, Counter]]) -> None:
        end_ = last + timedelta(days=1)
        # read again inside the transaction: a day another run purged since `kept` was read (its
        # raw text gone, so this run scrubbed nothing for it) keeps its clean rows as well
        now_kept = kept | {r[0] for r in con.execute(statement("privacy/purged_days"),
                                                      {"start": first, "end": end_}).fetchall()}
        bounds = {"start": first, "end": end_, "kept": sorted(now_kept)}
        con.execute(statement("privacy/delete_clean_logs_window"), bounds)
        con.execute(statement("privacy/delete_pii_replacements_window"), bounds)
        for day, rows, cleaned, counts in cleaned_days:
            if rows and day not in now_kept:
                con.register("cleaned_day", cleaned)
                con.execute(statement("privacy/insert_clean_day"))
                con.unregister("cleaned_day")
                insert_rows(con, "insert into pii_replacements values (?, ?, ?)",
                            [(day, kind, n) for kind, n in sorted(counts.items())])

    def counted(items: Iterator[tuple]) -> Iterator[tuple]:
        for i, item in enumerate(items, 1):
            result.rows += item[1]
            result.replaced.update(item[3])
            result.days += 1
            if progress:
                progress(i, len(days), result.rows)
            yield item

    pending: list[tuple] = []
    pending_rows = 0
    first = start

    def commit(last: date) -> None:
        chunk = list(pending)
        retrying(con, lambda: replace(first, last, iter(chunk)), f"clean_logs {first}..{last}")
        pending.clear()

    for item in counted(_scrubbed_days(con, anonymizer, days)):
        pending.append(item)
        pending_rows += item[1]
        if pending_rows >= COMMIT_ROWS:
            commit(item[0])
            pending_rows = 0
            first = item[0] + timedelta(days=1)
    if pending or first < end:
        commit(end - timedelta(days=1))
    result.seconds = time.perf_counter() - t0
    return result


RETENTION_VAR = "EVALFUNNEL_RAW_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30


def retention_days() -> int:
    """Days raw_logs and log_rejects keep a day's raw text after its clean_logs exist
    (EVALFUNNEL_RAW_RETENTION_DAYS, default 30; 0 keeps it forever)."""
    raw = os.environ.get(RETENTION_VAR, "").strip()
    try:
        days = int(raw) if raw else DEFAULT_RETENTION_DAYS
    except ValueError as exc:
        raise ValueError(f"{RETENTION_VAR}={raw!r} is not a whole number of days") from exc
    if days < 0:
        raise ValueError(f"{RETENTION_VAR}={raw!r} must be 0 (keep forever) or more")
    return days


@dataclass(frozen=True)
class Purge:
    cutoff: date | None
    days: int
    raw_rows: int
    reject_rows: int


def purge_raw(con: duckdb.DuckDBPyConnection, today: date, keep_days: int) -> Purge:
    """Delete raw_logs and log_rejects rows of days before `today - keep_days` whose clean_logs
    exist. The per-day counts in log_partitions stay; raw_purges records each purged day."""
    if keep_days <= 0:
        return Purge(None, 0, 0, 0)
    cutoff = today - timedelta(days=keep_days)
    purge = con.execute(statement("logs/purgeable_days"), {"cutoff": cutoff}).to_arrow_table()
    if not purge.num_rows:
        return Purge(cutoff, 0, 0, 0)
    con.register("purge", purge)
    try:
        def write() -> None:
            con.execute("delete from raw_logs where log_date in (select log_date from purge)")
            con.execute("delete from log_rejects where log_date in (select log_date from purge)")
            con.execute(statement("logs/purge_days"))

        retrying(con, write, "purge of raw text")
    finally:
        con.unregister("purge")
    return Purge(cutoff, purge.num_rows, sum(purge.column("raw_rows").to_pylist()),
                 sum(purge.column("reject_rows").to_pylist()))


@dataclass(frozen=True)
class ResidueReport:
    texts: int
    residue: Counter
    replaced: dict[str, int]


def residue_by_day(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[date, ResidueReport]:
    """`residue_in_window` for each day of [start, end), from one query for the texts and one for
    the replacements (a day's texts are scanned on their own, as before)."""
    window = {"start": start, "end": end}
    texts = pl.from_arrow(con.execute(statement("privacy/clean_texts_by_day"), window).to_arrow_table())
    replaced: dict[date, dict[str, int]] = {}
    for day, pii_type, n in con.execute(statement("privacy/day_replacements"), window).fetchall():
        replaced.setdefault(day, {})[pii_type] = n
    by_day = {key[0]: part["text"] for key, part in texts.partition_by("log_date", as_dict=True).items()} \
        if texts.height else {}
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return {day: ResidueReport(len(by_day[day]) if day in by_day else 0,
                               scan_for_residue(by_day[day]) if day in by_day else Counter(),
                               replaced.get(day, {})) for day in days}


RESIDUE_DAYS_PER_QUERY = 7  # days of texts the residue check reads at once (a week of logs in memory)


def residue_for_days(con: duckdb.DuckDBPyConnection, days: list[date],
                     per_query: int = RESIDUE_DAYS_PER_QUERY) -> dict[date, ResidueReport]:
    """`residue_by_day` for any set of days, read in runs of up to `per_query` consecutive days."""
    ordered, reports = sorted(set(days)), {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and j + 1 - i < per_query and (ordered[j + 1] - ordered[j]).days == 1:
            j += 1
        reports.update(residue_by_day(con, ordered[i], ordered[j] + timedelta(days=1)))
        i = j + 1
    return reports


def residue_in_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> ResidueReport:
    """Re-scan every text clean_logs holds for [start, end) with the independent detector."""
    window = {"start": start, "end": end}
    # Arrow into Polars: the texts never become Python strings unless the prefilter keeps them
    texts = pl.from_arrow(con.execute(statement("privacy/clean_texts"), window).to_arrow_table())["text"]
    replaced = dict(con.execute(statement("privacy/window_replacements"), window).fetchall())
    return ResidueReport(len(texts), scan_for_residue(texts), replaced)
