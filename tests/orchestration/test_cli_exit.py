"""How the `evalfunnel` program ends: at once when its command is done (the interpreter's
teardown of Dagster, Polars and DuckDB skipped), with exit handlers run and output flushed; the
ordinary way when a thread that is not a daemon still runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The program as the console script runs it (`sys.exit(main())`, argv from sys.argv), with an
# exit handler, and an object whose finalizer runs only in the interpreter's teardown.
PROGRAM = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    out = Path(sys.argv[1])

    class TornDown:
        def __del__(self):
            (out / "teardown").write_text("ran")

    keep = TornDown()
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    if sys.argv[2] == "thread":
        def late():
            time.sleep(0.5)
            (out / "thread").write_text("finished")
        threading.Thread(target=late).start()
    print("before the command", flush=False)
    from pipeline.cli import main
    sys.argv = ["evalfunnel", "backfill", "daily_ingest", "--from", "2026-05-01", "--to", "2026-05-02",
                "--home", str(out / "empty-home")]
    sys.exit(main())
""")


def _program(tmp_path: Path, mode: str, **run) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    return subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path), mode], env=env, text=True, timeout=120,
                          cwd=Path(__file__).parents[2], **({"capture_output": True} | run))


@pytest.mark.parametrize("mode", ["alone", "thread"])
def test_the_program_ends_with_its_code_output_and_exit_handlers(tmp_path, mode):
    result = _program(tmp_path, mode)
    # the command's error (no warehouse in that home) and its code, through a pipe
    assert result.returncode == 2, result.stderr
    assert result.stdout == "before the command\n"  # buffered output written before the end is flushed
    assert result.stderr.splitlines()[0] == f"evalfunnel: error: no warehouse at {tmp_path / 'empty-home' / 'warehouse.duckdb'}"
    assert (tmp_path / "atexit").read_text() == "ran"
    if mode == "alone":  # ended at once: the teardown was skipped
        assert not (tmp_path / "teardown").exists()
    else:  # a thread still running: it finishes, and the interpreter ends the ordinary way
        assert (tmp_path / "thread").read_text() == "finished"
        assert (tmp_path / "teardown").read_text() == "ran"


def test_in_process_callers_get_the_code_back(tmp_path, monkeypatch):
    from pipeline.cli import main

    monkeypatch.delenv("EVALFUNNEL_HOME", raising=False)
    assert main(["backfill", "daily_ingest", "--from", "2026-05-01", "--to", "2026-05-02",
                 "--home", str(tmp_path / "empty")]) == 2


def test_a_program_started_with_its_output_closed_ends_with_its_own_code(tmp_path):
    # `evalfunnel ... >&-`: Python's sys.stdout is None; the command's code, not a crash's 1
    result = _program(tmp_path, "alone", capture_output=False, stderr=subprocess.PIPE, pass_fds=(),
                      preexec_fn=lambda: os.close(1))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "no warehouse at" in result.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
