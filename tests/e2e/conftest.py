"""The full-size demo (six months, 50,000 interactions), materialized once for the whole session.

Shared by tests/e2e/test_demo_truths.py (planted truths) and tests/e2e/test_demo_checksums.py
(every output table unchanged): one `evalfunnel demo` run, not one per module. Two inputs are
pinned so the output is the same on every run and every day, as the checksums need:

* the pseudonymization key: the demo creates a random one per home (pii_salt), so every pseudonym
  in clean_logs and after would change; a fixed key is written in the home first, where the demo
  and later commands (gate) read it;
* EVALFUNNEL_RAW_RETENTION_DAYS=0: the default (30 days) purges raw_logs and log_rejects by
  today's date, so what they keep would depend on the day the suite runs.

The tables' checksums are taken as soon as the demo is done: some tests write to the home
afterwards (a backfill), and test order must not matter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.checksums import table_checksums
from pipeline.warehouse import connect

DEMO_SALT = "0123456789abcdef" * 4


@dataclass(frozen=True)
class DemoRun:
    home: Path
    checksums: dict[str, dict]  # pipeline.checksums.table_checksums of the warehouse the demo left
    seconds: float  # the demo's run time


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    root = tmp_path_factory.mktemp("full-demo")
    home = root / "home"
    home.mkdir()
    (home / "pii_salt").write_text(DEMO_SALT + "\n")
    (home / "pii_salt").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env["EVALFUNNEL_RAW_RETENTION_DAYS"] = "0"
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--home", str(home)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    assert result.returncode == 0, result.stderr[-3000:]
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        checksums = table_checksums(con)
    return DemoRun(home, checksums, seconds)


@pytest.fixture(scope="session")
def demo_home(demo_run: DemoRun) -> Path:
    return demo_run.home
