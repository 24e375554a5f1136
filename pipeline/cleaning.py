"""clean_logs: raw_logs with every text scrubbed of PII and identifiers pseudonymized.

Streams one day at a time (memory bounded by a day of logs). Scrubbed: every message's content,
the response, feedback.edited_response, and the metadata and unknown-field JSON (as text: the
anonymizer's patterns never cross a JSON quote, so the JSON stays valid). user_id and session_id
become HMAC-SHA256 pseudonyms.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from pipeline.anonymize import Anonymizer, scan_for_residue
from pipeline.warehouse import statement


@dataclass
class CleanResult:
    start: date
    end: date
    rows: int = 0
    days: int = 0
    replaced: Counter = field(default_factory=Counter)
    seconds: float = 0.0


_FLAT_TEXTS = {  # field name in the stacked frame -> expression on a raw_logs day
    "response": pl.col("response"),
    "edited_response": pl.col("feedback").struct.field("edited_response"),
    "metadata": pl.col("metadata"),
    "extra": pl.col("extra"),
}


def scrub_day(frame: pl.DataFrame, anonymizer: Anonymizer) -> tuple[pl.DataFrame, Counter]:
    """One day of raw_logs rows (as from sql/anonymize/raw_day.sql) made safe to keep.

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
    return out.select(frame.drop("_row").columns), counts


def clean_window(con: duckdb.DuckDBPyConnection, anonymizer: Anonymizer, start: date, end: date,
                 progress: Callable[[int, int, int], None] | None = None) -> CleanResult:
    """Replace clean_logs and pii_replacements for [start, end), a day at a time."""
    t0 = time.perf_counter()
    result = CleanResult(start, end)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    window = {"start": start, "end": end}
    con.execute("begin transaction")
    try:
        con.execute(statement("anonymize/delete_clean_logs_window"), window)
        con.execute(statement("anonymize/delete_pii_replacements_window"), window)
        for i, day in enumerate(days, 1):
            raw = pl.from_arrow(con.sql(statement("anonymize/raw_day"), params={"day": day}).to_arrow_table())
            if raw.height:
                cleaned, counts = scrub_day(raw, anonymizer)
                con.register("cleaned_day", cleaned.to_arrow())
                con.execute(statement("anonymize/insert_clean_day"))
                con.unregister("cleaned_day")
                if counts:
                    con.executemany("insert into pii_replacements values (?, ?, ?)",
                                    [(day, kind, n) for kind, n in sorted(counts.items())])
                result.rows += raw.height
                result.replaced.update(counts)
            result.days += 1
            if progress:
                progress(i, len(days), result.rows)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    result.seconds = time.perf_counter() - t0
    return result


@dataclass(frozen=True)
class ResidueReport:
    texts: int
    residue: Counter
    replaced: dict[str, int]


def residue_in_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> ResidueReport:
    """Re-scan every text clean_logs holds for [start, end) with the independent detector."""
    window = {"start": start, "end": end}
    texts = [r[0] for r in con.execute(statement("anonymize/clean_texts"), window).fetchall()]
    replaced = dict(con.execute(statement("anonymize/window_replacements"), window).fetchall())
    return ResidueReport(len(texts), scan_for_residue(texts), replaced)
