"""Shared fixtures: a small generated source directory and fresh warehouses."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from pipeline.demo.generator import DemoConfig, generate

# The partitions start where the home records the first day of data (`make test` exports the
# repo's .evalfunnel, where `make demo` recorded the demo's). The test process loads the
# definitions once, before any test writes a source of its own: pin the start, so the suite
# sees the same partitions on a fresh clone and after `make demo`. The start-date tests
# (tests/orchestration/test_definitions_partitions.py) clear it for their own processes.
os.environ.setdefault("EVALFUNNEL_START_DATE", "2025-01-01")


@pytest.fixture(autouse=True)
def keep_raw_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test data is months old, so the default retention would purge raw_logs right after
    cleaning; tests about other things keep it (the retention tests set their own value)."""
    monkeypatch.setenv("EVALFUNNEL_RAW_RETENTION_DAYS", "0")


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two months, 3,000 interactions: every part of the contract and every planted bad input."""
    out = tmp_path_factory.mktemp("demo-source")
    generate(DemoConfig(out=out, months=2, interactions=3000, seed=11))
    return out


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """An empty source directory with logs/, for hand-written cases."""
    (tmp_path / "src" / "logs").mkdir(parents=True)
    return tmp_path / "src"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "warehouse.duckdb"


def record(rid: str, /, ts: str | int = "2026-05-02T10:00:00Z", **fields) -> dict:
    """A valid log record; keyword arguments override or add fields (None removes one)."""
    base = {"request_id": rid, "timestamp": ts, "user_id": "u1", "query": "hello?", "response": "hi",
            "feedback": {"thumbs": 1, "regenerated": False, "copied": True}, "metadata": {"topic": "coding"}}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def write_jsonl(path: Path, rows: list[dict | str | bytes], gz: bool = False) -> Path:
    """Rows as JSON lines; str and bytes rows are written verbatim (for broken lines)."""
    body = b"".join((r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode()) + b"\n" for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body) if gz else body)
    return path
