"""The demo's output tables are the same as before the performance work (issue 15).

Every table of the demo warehouse's main schema is compared with demo_checksums.json, recorded at
commit 813029f (before issue 15): row count, an order-independent checksum of the rows and one per
column (pipeline/checksums.py: doubles compared to 20 significant bits, about 6 decimal digits;
the volatile columns listed in checksums.VOLATILE left out or compared only where stable). The
demo is the session's shared one (tests/e2e/conftest.py), its checksums taken before any test
writes to it. A failure lists each differing table: its rows before -> after and its differing
columns.

When a change of output is intended, and only then, record the new checksums and commit the file
with the change that explains them:

    EVALFUNNEL_UPDATE_CHECKSUMS=1 .venv/bin/python -m pytest tests/e2e/test_demo_checksums.py
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.checksums import BITS, differences

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).with_name("demo_checksums.json")
UPDATE_VAR = "EVALFUNNEL_UPDATE_CHECKSUMS"


def _commit() -> str | None:
    """The commit the checksums are recorded at, with '+' when tracked files have changes."""
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


def test_demo_tables_match_the_recorded_checksums(demo_run):
    actual = demo_run.checksums
    if os.environ.get(UPDATE_VAR) == "1":
        GOLDEN.write_text(json.dumps({"commit": _commit(), "bits": BITS, "tables": actual},
                                     indent=1, sort_keys=True) + "\n")
        pytest.skip(f"{UPDATE_VAR}=1: recorded {len(actual)} tables in {GOLDEN} (demo: {demo_run.seconds:.0f} s)")
    golden = json.loads(GOLDEN.read_text())
    assert golden["bits"] == BITS, f"recorded with doubles to {golden['bits']} bits, compared to {BITS}: regenerate"
    diff = differences(golden["tables"], actual)
    assert not diff, (f"{len(diff)} of {len(golden['tables'])} demo tables differ from {GOLDEN.name} "
                      f"(recorded at {golden['commit']}):\n  " + "\n  ".join(diff))
