"""The judge's cost and rate controls as a user reaches them (issue 16): `evalfunnel run` flags
and EVALFUNNEL_JUDGE_* variables, against a local OpenAI-compatible server that counts calls.

The source is hand-written (150 log records, logs/ only), the judge `openai/judge` on the local
server: litellm knows no price for it, so the tests give one (1,000 USD per million tokens, so
that a few calls cost dollars) or check what happens without.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.judge.controls import ControlError, judge_config
from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.warehouse import connect
from tests.conftest import record, write_jsonl

pytestmark = pytest.mark.e2e
PRICES = ("--price-input", "1000", "--price-output", "1000")


@pytest.fixture(scope="module")
def small_source(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("controls") / "src"
    rows = [record(f"r{i}", ts=f"2026-05-{1 + i % 20:02d}T10:{i % 60:02d}:00Z", user_id=f"u{i % 17}",
                   query=f"question {i} about billing {i * 7}?", response=f"answer {i}: " + "some words " * (i % 9),
                   metadata={"topic": ["coding", "billing", "travel"][i % 3]}) for i in range(150)]
    write_jsonl(src / "logs" / "a.jsonl", rows)
    return src


def evalfunnel(server: LocalLLMServer, source: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    environ.update(EVALFUNNEL_PII_SALT="controls-salt", LITELLM_LOCAL_MODEL_COST_MAP="True", LOCAL_JUDGE_KEY="local")
    environ.update(env)
    command = ["run", "--source", str(source), "--home", str(home), "--judge-model", "openai/judge",
               "--judge-api-base", server.base_url, "--api-key-env", "LOCAL_JUDGE_KEY", *args]
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *command], env=environ, capture_output=True, text=True,
                          timeout=900)


def spend(home: Path) -> list[tuple]:
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        return con.execute("select budget_scope, asset, calls, cost_usd, budget_usd, skipped_budget from judge_spend "
                           "where calls > 0 or skipped_budget > 0 order by recorded_at").fetchall()


def test_dry_run_calls_nothing_prints_the_estimate_and_exits_0(small_source, tmp_path):
    with LocalLLMServer(Faults()) as server:
        done = evalfunnel(server, small_source, tmp_path / "home", "--dry-run")
        calls = server.total_calls
    assert done.returncode == 0, done.stderr[-2000:]
    assert calls == 0
    # no price for openai/judge and no budget: said on the console, never a silent $0
    assert "warning: no price is known for openai/judge" in done.stderr
    estimate = next(line for line in done.stderr.splitlines() if "judge_scores:" in line and "item(s) to judge" in line)
    assert "148 item(s) to judge with openai/judge (0 cached: free)" in estimate and "cost unknown" in estimate
    assert "dry run: stopped before the first paid call" in done.stdout
    assert "running analyze_experiments" not in done.stdout  # nothing after the first judging stage ran


def test_a_budget_stops_before_the_cap_and_a_rerun_continues_where_it_stopped(small_source, tmp_path):
    home = tmp_path / "home"
    with LocalLLMServer(Faults()) as server:
        first = evalfunnel(server, small_source, home, *PRICES, "--budget-usd", "20", "--concurrency", "8", "--rpm", "6000")
        first_calls = server.total_calls
        # the budget from the variable this time, raised: only what the first run skipped is called
        second = evalfunnel(server, small_source, home, *PRICES, EVALFUNNEL_JUDGE_BUDGET_USD="200")
        second_calls = server.total_calls - first_calls
    assert first.returncode == 0 and second.returncode == 0, (first.stderr[-2000:], second.stderr[-2000:])
    rows = spend(home)
    (scope1, asset1, calls1, cost1, budget1, skipped1), (scope2, asset2, calls2, cost2, budget2, skipped2) = rows
    assert asset1 == asset2 == "judge_scores" and scope1 != scope2  # one budget per command
    assert 0 < cost1 <= budget1 == 20 and skipped1 > 50 and calls1 == first_calls
    assert "dry run" not in first.stdout and "budget left $20.0000" in first.stderr
    assert f"{skipped1:,} item(s) were left unjudged by the budget" in first.stdout
    assert second_calls == calls2 == skipped1 and skipped2 == 0 and budget2 == 200 and cost2 <= 200
    assert f"({148 - skipped1} cached: free)" in second.stderr
    # the controls are the runs' config, as the UI's launchpad shows them (the key's variable, never a key)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            judged = [r for r in instance.get_runs() if r.job_name == "judge_eval_set"]
            configs = [r.run_config["resources"]["judge"]["config"] for r in judged]
    finally:
        os.environ.pop("DAGSTER_HOME")
    first_config = next(c for c in configs if c["max_cost_usd"] == 20)
    assert first_config["concurrency"] == 8 and first_config["requests_per_minute"] == 6000
    assert first_config["api_key_env"] == "LOCAL_JUDGE_KEY" and "local" not in map(str, first_config.values())


def test_an_unknown_price_with_a_budget_is_refused_before_anything_runs(small_source, tmp_path):
    with LocalLLMServer(Faults()) as server:
        done = evalfunnel(server, small_source, tmp_path / "home", "--budget-usd", "5")
        assert server.total_calls == 0
    assert done.returncode == 2
    assert "no price is known for openai/judge, so a budget of $5 cannot be kept" in done.stderr
    assert "--price-input and --price-output" in done.stderr and not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_the_key_variable_is_named_when_it_is_missing_or_refused(small_source, tmp_path):
    with LocalLLMServer(Faults()) as server:
        missing = evalfunnel(server, small_source, tmp_path / "a", "--api-key-env", "NO_SUCH_KEY_VAR")
    assert missing.returncode == 2 and "NO_SUCH_KEY_VAR is not set" in missing.stderr
    with LocalLLMServer(Faults(rates={"401": 1.0})) as server:
        refused = evalfunnel(server, small_source, tmp_path / "b", *PRICES)
    assert refused.returncode == 1
    [line] = [x for x in refused.stdout.splitlines() if "judge_scores: LLMConfigError" in x]
    assert "the provider refused the API key in LOCAL_JUDGE_KEY" in line and "local" not in line.split("LOCAL_JUDGE_KEY")[1][:40]


@pytest.mark.parametrize("flags, env, message", [
    (("--concurrency", "0"), {}, "--concurrency='0': at least 1 call must be allowed in flight"),
    (("--budget-usd", "-3"), {}, "--budget-usd='-3': must be a finite number, 0 or more"),
    ((), {"EVALFUNNEL_JUDGE_RPM": "lots"}, "EVALFUNNEL_JUDGE_RPM='lots': not a number"),
    ((), {"EVALFUNNEL_JUDGE_DRY_RUN": "maybe"}, "EVALFUNNEL_JUDGE_DRY_RUN='maybe': say 1 or 0"),
    (("--budget-usd", "0"), {}, "--budget-usd='0': a budget must be more than 0"),
    (("--concurrency", "1.5"), {}, "--concurrency='1.5': not a whole number"),
    (("--rpm", "1_0"), {}, "--rpm='1_0': not a number"),
])
def test_a_control_that_cannot_be_is_a_usage_error_naming_it(small_source, tmp_path, flags, env, message):
    with LocalLLMServer(Faults()) as server:
        done = evalfunnel(server, small_source, tmp_path / "home", *flags, **env)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_flags_override_the_variables():
    env = {"EVALFUNNEL_JUDGE_MODEL": "gpt-4o", "EVALFUNNEL_JUDGE_BUDGET_USD": "3", "EVALFUNNEL_JUDGE_DRY_RUN": "1",
           "EVALFUNNEL_JUDGE_CONCURRENCY": "4"}
    assert judge_config(env, {"max_cost_usd": "7.5", "dry_run": False, "concurrency": None}) == {
        "model": "gpt-4o", "max_cost_usd": 7.5, "dry_run": True, "concurrency": 4}
    with pytest.raises(ControlError, match="EVALFUNNEL_JUDGE_TPM='inf'"):
        judge_config({"EVALFUNNEL_JUDGE_TPM": "inf"})
    # a bad variable does not matter when its flag is given
    assert judge_config({"EVALFUNNEL_JUDGE_BUDGET_USD": "nan"}, {"max_cost_usd": "5"}) == {"max_cost_usd": 5.0}
