"""One full `evalfunnel demo` run with its output pinned, and the checksums of what it left.

Two inputs are pinned so the output is the same on every run and every day, as the checksums
need: the pseudonymization key (the demo creates a random one per home, so every pseudonym in
clean_logs and after would change; a fixed key is written in the home first, where the demo and
later commands read it) and EVALFUNNEL_RAW_RETENTION_DAYS=0 (the default, 30 days, purges
raw_logs and log_rejects by today's date). `env` adds variables, e.g. EVALFUNNEL_WAREHOUSE for
a DuckLake: the checksums are read from whichever warehouse the run used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.checksums import table_checksums
from pipeline.warehouse import connect, location

DEMO_SALT = "0123456789abcdef" * 4


@dataclass(frozen=True)
class DemoRun:
    home: Path
    checksums: dict[str, dict]  # pipeline.checksums.table_checksums of the warehouse the demo left
    seconds: float  # the demo's run time


def run_demo(root: Path, env: dict[str, str] | None = None) -> DemoRun:
    home = root / "home"
    home.mkdir()
    (home / "pii_salt").write_text(DEMO_SALT + "\n")
    (home / "pii_salt").chmod(0o600)
    full = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    full["EVALFUNNEL_RAW_RETENTION_DAYS"] = "0"
    full.update(env or {})
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--home", str(home)], cwd=root, env=full,
                            capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        target = location(home)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with connect(target, read_only=True) as con:
        checksums = table_checksums(con)
    return DemoRun(home, checksums, seconds)
