"""Reading a source folder of small record files (JSONL or CSV, recursively) one record at a
time, so that a bad record is rejected with its file and line and the rest still load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

SUFFIXES = (".jsonl", ".csv")


def iter_records(folder: Path) -> Iterator[tuple[str, int, dict | None, str | None]]:
    """(file relative to the folder's parent, line or row number, record, problem): exactly
    one of record and problem is set. CSV values arrive as strings."""
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.suffix not in SUFFIXES:
            continue
        name = str(path.relative_to(folder.parent))
        if path.suffix == ".csv":
            try:
                rows = pl.read_csv(path, infer_schema=False).to_dicts()
            except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
                yield name, 0, None, f"unreadable CSV: {str(exc).splitlines()[0]}"
                continue
            for n, row in enumerate(rows, 2):  # row 1 is the header
                yield name, n, row, None
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
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
