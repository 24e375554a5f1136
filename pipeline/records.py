"""Reading a source folder of small record files (JSONL, CSV or Parquet, optionally gzipped,
recursively) one record at a time, so that a bad record is rejected with its file and line and
the rest still load, and the field parsers those sources share (timestamps, scores, pairs).
Used for human_labels/, judgments/ and candidate_responses/."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pipeline.judge.rubric import Rubric

FORMATS = {".jsonl": "json", ".ndjson": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SUPPORTED = "JSONL, CSV or Parquet, optionally .gz"


def record_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
        return FORMATS.get(suffixes[-1]) if suffixes and suffixes[-1] != ".parquet" else None
    return FORMATS.get(suffixes[-1]) if suffixes else None


def _plain(value):
    """Parquet values as the JSON and CSV readers give them: timestamps as RFC 3339 text."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json_records(path: Path, name: str) -> Iterator[tuple[str, int, dict | None, str | None]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                yield name, n, None, "not valid JSON"
                continue
            if isinstance(doc, dict):
                yield name, n, doc, None
            else:
                yield name, n, None, "not a JSON object"


def iter_records(folder: Path) -> Iterator[tuple[str, int, dict | None, str | None]]:
    """(file relative to the folder's parent, line or row number, record, problem): exactly
    one of record and problem is set. CSV values arrive as strings; a file in another format,
    or one that cannot be read at all, is one problem at line 0."""
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if not path.is_file() or path.name.startswith("."):
            continue
        name = str(path.relative_to(folder.parent))
        fmt = record_format(path)
        if fmt is None:
            yield name, 0, None, f"not a supported format ({SUPPORTED}): skipped"
            continue
        try:
            if fmt == "json":
                yield from _json_records(path, name)
            elif path.stat().st_size == 0:
                continue  # an empty export holds no records
            elif fmt == "csv":
                rows = pl.read_csv(path, infer_schema=False).to_dicts()
                for n, row in enumerate(rows, 2):  # row 1 is the header
                    yield name, n, row, None
            else:
                for n, row in enumerate(pl.read_parquet(path).to_dicts(), 1):
                    yield name, n, {k: _plain(v) for k, v in row.items()}, None
        except (OSError, EOFError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
            yield name, 0, None, f"unreadable {fmt} file: {str(exc).strip().splitlines()[0][:200]}"


FLIP = {"a": "b", "b": "a", "tie": "tie"}


def text_field(doc: dict, key: str, required: bool = True) -> str | None:
    """A required (or optional) text field of a source record; a clear error when absent or not text."""
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
    a, b = text_field(doc, "variant_a"), text_field(doc, "variant_b")
    if a == b:
        raise ValueError(f"variant_a and variant_b are both {a!r}")
    winner = doc.get("winner")
    if winner not in FLIP:
        raise ValueError(f"winner must be a, b or tie, got {winner!r}")
    return (a, b, winner) if a < b else (b, a, FLIP[winner])
