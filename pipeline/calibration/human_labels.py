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

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge.rubric import Rubric
from pipeline.records import iter_records, parse_pair, parse_score, parse_time, text_field

SCHEMA = {"kind": pl.String, "item_id": pl.String, "variant": pl.String, "variant_a": pl.String,
          "variant_b": pl.String, "annotator_id": pl.String, "dimension": pl.String, "score": pl.Int32,
          "winner": pl.String, "labeled_at": pl.Datetime("us", "UTC"), "source_file": pl.String, "source_line": pl.Int64}


@dataclass(frozen=True)
class LabelLoad:
    rows: pl.DataFrame  # kept labels
    rejects: list[tuple[str, int, str]]
    superseded: int
    read: int

    def reconciles(self) -> bool:
        return self.read == len(self.rows) + len(self.rejects) + self.superseded


def validate(doc: dict, rubric: Rubric) -> dict:
    kind = doc.get("kind") or "pointwise"
    row = {"kind": kind, "item_id": text_field(doc, "item_id"), "annotator_id": text_field(doc, "annotator_id"),
           "labeled_at": parse_time(doc.get("labeled_at"), "labeled_at"), "variant": None, "variant_a": None,
           "variant_b": None, "dimension": None, "score": None, "winner": None}
    if kind == "pointwise":
        row["variant"] = text_field(doc, "variant", required=False)
        row["dimension"] = text_field(doc, "dimension")
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
