"""Benchmark: start-up time of the code location (issue 14).

Every step of a run launched from the UI, a schedule or a sensor is a new process that imports
`pipeline.definitions` before it does anything. Measured in a fresh interpreter each time, best
of 5: `import pipeline.definitions`, against `import dagster` (the floor: the code location
cannot start faster than Dagster itself) and a bare interpreter, measured in the same run.
Target: `import pipeline.definitions` under 2 s (printed, not enforced: timings are noisy). Also
lists the heavy libraries a start-up must not import (each is imported where it is used) and
fails when one comes back.

    python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0
# imported on first use, never by the code location's import
HEAVY = ("litellm", "matplotlib", "scipy.stats", "scipy.optimize", "great_expectations", "pandas", "presidio_analyzer",
         "spacy", "openai")
CHECK = "import sys, {module}; print(','.join(m for m in {heavy!r} if m in sys.modules))"


def timed(code: str, runs: int) -> tuple[float, str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}
    best, out = float("inf"), ""
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(f"{code!r} failed:\n{done.stderr[-2000:]}")
        best, out = min(best, elapsed), done.stdout.strip()
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare, _ = timed("pass", args.runs)
    floor, _ = timed("import dagster", args.runs)
    ours, loaded = timed(CHECK.format(module="pipeline.definitions", heavy=HEAVY), args.runs)
    print(f"fresh interpreter, best of {args.runs}: bare python {bare:.2f} s, import dagster {floor:.2f} s, "
          f"import pipeline.definitions {ours:.2f} s (target < {TARGET_S:.0f} s)")
    print(f"ratio pipeline.definitions / import dagster: {ours / floor:.2f}x; "
          f"the code location's own share: {ours - floor:.2f} s")
    print(f"heavy libraries imported at start-up: {loaded or 'none'}"
          + ("" if ours < TARGET_S else f"  (target missed: {ours:.2f} s)"))
    if loaded:  # a regression in the code, not noise in the timing: fail `make bench`
        raise SystemExit(f"start-up imports {loaded}: import them where they are used")


if __name__ == "__main__":
    main()
