"""The judge's persistent cache: reruns and backfills never call the model for a judged prompt.

Results are appended to a journal file (one JSON line each, flushed) the moment they finish and
written to `judge_cache` in the warehouse in batches. On start, a journal left by a killed run
is recovered into the cache first, so a restart loses nothing and re-bills nothing that had
finished (only the calls in flight at the moment of the kill are made again). Warehouse batches
are written on a writer thread, so a fan-out's event loop never waits for DuckDB.
Cached: ok and parse_failed (the model answered; asking again would bill again). Not cached:
failed and skipped_budget, which the next run tries again.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

from pipeline.judge.prompt import Verdict
from pipeline.judge.tasks import JudgeResult, JudgeTask
from pipeline.warehouse import statement

CACHED_STATUSES = ("ok", "parse_failed")
_COLUMNS = {"cache_key": pl.String, "judge_version": pl.String, "kind": pl.String, "status": pl.String,
            "verdict": pl.String, "raw": pl.String, "error": pl.String, "attempts": pl.Int32,
            "latency_ms": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64, "cost_usd": pl.Float64}


def _row(result: JudgeResult, judge_version: str) -> dict:
    verdict = result.verdict
    return {"cache_key": result.task.key, "judge_version": judge_version, "kind": result.task.kind,
            "status": result.status,
            "verdict": json.dumps({"scores": verdict.scores, "winner": verdict.winner, "rationale": verdict.rationale})
            if verdict else None,
            "raw": result.raw, "error": result.error, "attempts": result.attempts, "latency_ms": result.latency_ms,
            "input_tokens": result.input_tokens, "output_tokens": result.output_tokens, "cost_usd": result.cost_usd}


class JudgeCache:
    """Lookups and durable writes for one judge version; use as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, journal: Path, judge_version: str, flush_every: int = 500) -> None:
        self.con, self.journal, self.judge_version, self.flush_every = con, journal, judge_version, flush_every
        self.pending: list[dict] = []
        self.recovered = 0
        self.written = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-cache")
        self._writes: list[Future] = []

    def __enter__(self) -> JudgeCache:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        self.recovered = self._recover()
        self._fh = self.journal.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        self._wait()
        self._writer.shutdown()
        self._fh.close()
        self.journal.unlink(missing_ok=True)  # everything in it is in the warehouse now

    def _recover(self) -> int:
        if not self.journal.exists():
            return 0
        rows = []
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the line being written when the process died
        self._insert(rows)
        self.journal.unlink()
        return len(rows)

    def _insert(self, rows: list[dict]) -> None:
        if not rows:
            return
        self.con.register("cache_batch", pl.DataFrame(rows, schema=_COLUMNS).to_arrow())
        self.con.execute(statement("judge/insert_cache"))
        self.con.unregister("cache_batch")
        self.written += len(rows)

    def add(self, results: list[JudgeResult]) -> None:
        """Journal every cacheable result now; write the warehouse every `flush_every`."""
        for result in results:
            if result.status not in CACHED_STATUSES:
                continue
            row = _row(result, self.judge_version)
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.pending.append(row)
        self._fh.flush()
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Hand the pending rows to the writer thread (the journal already holds them)."""
        if self.pending:
            self._writes.append(self._writer.submit(self._insert, self.pending))
            self.pending = []

    def _wait(self) -> None:
        """Every handed-over batch is in the warehouse; a failed write is raised here."""
        writes, self._writes = self._writes, []
        for write in writes:
            write.result()

    def lookup(self, tasks: list[JudgeTask]) -> dict[str, JudgeResult]:
        """Cached results for `tasks`, by key, rebuilt as JudgeResults (no model call)."""
        self._wait()
        by_key = {t.key: t for t in tasks}
        found = {}
        for key, kind, status, verdict, raw, error, attempts, latency, tin, tout, cost in self.con.execute(
                statement("judge/cached"), {"keys": list(by_key)}).fetchall():
            v = json.loads(verdict) if verdict else None
            found[key] = JudgeResult(by_key[key], status, Verdict(v["scores"], v["winner"], v["rationale"]) if v else None,
                                     raw, error, attempts, latency, tin, tout, cost)
        return found
