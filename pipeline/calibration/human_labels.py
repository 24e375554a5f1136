"""human_labels: the source's human_labels/ folder, validated and de-duplicated.

Pointwise rows: item_id, variant (optional), annotator_id, dimension, score, labeled_at.
Pairwise rows: item_id, variant_a, variant_b, annotator_id, winner (a|b|tie), labeled_at.
A row that breaks these rules goes to label_rejects with its file, line and reason; the rest
load. A pair is stored with its variants in sorted order (the winner flipped to match), so the
same comparison shown either way round is one label. When an annotator labels the same thing
twice (same item and variant and dimension, or the same pair), the latest labeled_at is kept
and the others are counted as superseded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.records import iter_records
from pipeline.judge.rubric import Rubric

SCHEMA = {"kind": pl.String, "item_id": pl.String, "variant": pl.String, "variant_a": pl.String,
          "variant_b": pl.String, "annotator_id": pl.String, "dimension": pl.String, "score": pl.Int32,
          "winner": pl.String, "labeled_at": pl.Datetime("us", "UTC"), "source_file": pl.String, "source_line": pl.Int64}
FLIP = {"a": "b", "b": "a", "tie": "tie"}


@dataclass(frozen=True)
class LabelLoad:
    rows: pl.DataFrame  # kept labels
    rejects: list[tuple[str, int, str]]
    superseded: int
    read: int

    def reconciles(self) -> bool:
        return self.read == len(self.rows) + len(self.rejects) + self.superseded


def _text(doc: dict, key: str, required: bool = True) -> str | None:
    value = doc.get(key)
    if value in (None, ""):
        if required:
            raise ValueError(f"{key}: missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def parse_time(value, key: str) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: missing or not an RFC 3339 string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not an RFC 3339 timestamp") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def parse_score(value, rubric: Rubric) -> int:
    text = str(value).strip() if value is not None else ""
    if not text.lstrip("-").isdigit() or not rubric.low <= int(text) <= rubric.high:
        raise ValueError(f"score must be an integer from {rubric.low} to {rubric.high}, got {value!r}")
    return int(text)


def parse_pair(doc: dict) -> tuple[str, str, str]:
    """(variant_a, variant_b, winner) in sorted variant order."""
    a, b = _text(doc, "variant_a"), _text(doc, "variant_b")
    if a == b:
        raise ValueError(f"variant_a and variant_b are both {a!r}")
    winner = doc.get("winner")
    if winner not in FLIP:
        raise ValueError(f"winner must be a, b or tie, got {winner!r}")
    return (a, b, winner) if a < b else (b, a, FLIP[winner])


def validate(doc: dict, rubric: Rubric) -> dict:
    kind = doc.get("kind") or "pointwise"
    row = {"kind": kind, "item_id": _text(doc, "item_id"), "annotator_id": _text(doc, "annotator_id"),
           "labeled_at": parse_time(doc.get("labeled_at"), "labeled_at"), "variant": None, "variant_a": None,
           "variant_b": None, "dimension": None, "score": None, "winner": None}
    if kind == "pointwise":
        row["variant"] = _text(doc, "variant", required=False)
        row["dimension"] = _text(doc, "dimension")
        if row["dimension"] not in rubric.dimensions:
            raise ValueError(f"unknown dimension {row['dimension']!r} (the rubric has {', '.join(rubric.names)})")
        row["score"] = parse_score(doc.get("score"), rubric)
    elif kind == "pairwise":
        row["variant_a"], row["variant_b"], row["winner"] = parse_pair(doc)
    else:
        raise ValueError(f"kind must be pointwise or pairwise, got {kind!r}")
    return row


def load_labels(folder: Path, rubric: Rubric) -> LabelLoad:
    rows, rejects, read = [], [], 0
    for name, line, doc, problem in iter_records(folder):
        read += 1
        if problem is None:
            try:
                rows.append({**validate(doc, rubric), "source_file": name, "source_line": line})
                continue
            except ValueError as exc:
                problem = str(exc)
        rejects.append((name, line, problem))
    frame = pl.DataFrame(rows, schema=SCHEMA)
    key = ["kind", "item_id", "variant", "variant_a", "variant_b", "annotator_id", "dimension"]
    kept = (frame.sort(["labeled_at", "source_file", "source_line"])
            .unique(subset=key, keep="last", maintain_order=True))
    return LabelLoad(kept, rejects, len(frame) - len(kept), read)


def store_labels(con: duckdb.DuckDBPyConnection, load: LabelLoad) -> None:
    con.execute("delete from human_labels")
    con.execute("delete from label_rejects")
    con.register("label_rows", load.rows.to_arrow())
    con.execute("insert into human_labels select *, now() from label_rows")
    con.unregister("label_rows")
    if load.rejects:
        con.executemany("insert into label_rejects values (?, ?, ?, now())", load.rejects)
