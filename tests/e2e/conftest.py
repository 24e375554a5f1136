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

from pathlib import Path

import pytest

from tests.demo_run import DemoRun, run_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("full-demo"))


@pytest.fixture(scope="session")
def demo_home(demo_run: DemoRun) -> Path:
    return demo_run.home
