"""Progress with counts, rate and ETA for long steps, written to any log function."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

CONSOLE_VAR = "EVALFUNNEL_CONSOLE_PROGRESS"  # set by the CLI: progress lines also go to stderr


class ProgressLog:
    """Calls `log` at most every `every_seconds` (and at the end) with done/total, rate, ETA."""

    def __init__(self, what: str, log: Callable[[str], None], every_seconds: float = 5.0, unit: str = "files") -> None:
        self.what, self.log, self.every, self.unit = what, log, every_seconds, unit
        self.t0 = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int, items: int = 0, cost_usd: float | None = None) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        extra = f", {items:,} records ({items / elapsed:,.0f}/s)" if items and elapsed > 0 else ""
        spent = f", ${cost_usd:.4f} spent so far" if cost_usd is not None else ""
        line = f"{self.what}: {done:,}/{total:,} {self.unit}{extra}{spent}, elapsed {elapsed:.1f}s, ETA {eta:.0f}s"
        self.log(line)
        if os.environ.get(CONSOLE_VAR) == "1":  # `evalfunnel run` and `backfill`: inside a stage, on the console
            print(f"  {line}", file=sys.stderr, flush=True)
