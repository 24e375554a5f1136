"""A judge whose answers never parse (a provider answering in another format): `evalfunnel run`
finishes, every verdict is kept as a parse failure, and the WARN check says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.warehouse import connect
from tests.sources.builders import build_source

pytestmark = pytest.mark.e2e


def test_a_judge_that_answers_garbage_lets_the_run_finish_with_the_warning(tmp_path):
    source = build_source(tmp_path / "src", ("pointwise_labels", "candidate_responses", "regression_set"))
    home = tmp_path / "home"
    # every answer, repairs included, is malformed: nothing the judge says can be parsed
    with LocalLLMServer(Faults(rates={"malformed": 1.0}, fault_repairs=True)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
        env.update(EVALFUNNEL_PII_SALT="garbage-judge", EVALFUNNEL_JUDGE_MODEL="openai/judge-garbage",
                   EVALFUNNEL_JUDGE_API_BASE=server.base_url, OPENAI_API_KEY="local", EVALFUNNEL_RAW_RETENTION_DAYS="0")
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", str(source), "--home", str(home)],
                                env=env, capture_output=True, text=True, timeout=900)
        calls = server.total_calls
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "judge_parse_failures" in result.stdout and "warns" in result.stdout
    assert calls > 0
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        statuses = dict(con.execute("select status, count(*) from judge_scores where judge_model = 'openai/judge-garbage' "
                                    "group by all").fetchall())
        drift = con.execute("select count(*) from judge_anchor_scores").fetchone()[0]
        regression = con.execute("select count(*), count(passed) from regression_results").fetchone()
    assert set(statuses) == {"parse_failed"} and statuses["parse_failed"] > 0
    assert drift == 0  # nothing parsed, so nothing to compare: an empty result, not a crash
    assert regression[0] > 0



def test_a_judge_that_never_answers_is_reported_not_silent(tmp_path):
    """A wrong model string or an endpoint that is down: every call fails. The run finishes (the
    rest of the graph does not need the judge) and the WARN check says so."""
    source = build_source(tmp_path / "src", ())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update(EVALFUNNEL_PII_SALT="dead-judge", EVALFUNNEL_JUDGE_MODEL="openai/judge-down",
               EVALFUNNEL_JUDGE_API_BASE="http://127.0.0.1:9/v1", OPENAI_API_KEY="local", EVALFUNNEL_RAW_RETENTION_DAYS="0")
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--source", str(source), "--home",
                             str(tmp_path / "home")], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "check judge_parse_failures on judge_scores warns" in result.stdout
    with connect(tmp_path / "home" / "warehouse.duckdb", read_only=True) as con:
        statuses = {r[0] for r in con.execute("select distinct status from judge_scores").fetchall()}
    assert statuses == {"failed"}
