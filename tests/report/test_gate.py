"""The release gate on hand-made tables (a clean candidate and one with planted regressions),
and through the CLI: exit codes, the readable table and --json."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.report.gate import GateConfig, GateError, evaluate
from pipeline.warehouse import connect

DIMS = ("correctness", "clarity")
VERSION = "jv"


def build(path, *, planted: bool, version: str = VERSION) -> None:
    """baseline, clean and bad on 12 billing and 12 coding items; `bad` (when planted) fails a
    case the baseline passes, drops 1 point of clarity on billing, and is dominated."""
    with connect(path) as con:
        for variant in ("baseline", "clean", "bad"):
            for case in ("c1", "c2", "c3"):
                fails = planted and variant == "bad" and case == "c2"
                con.execute("insert into regression_results values (?, ?, 'h', ?, 'checks', ?, null, now())",
                            [variant, case, not fails, "contains 'forbidden'" if fails else None])
            for k in range(24):
                topic = "billing" if k < 12 else "coding"
                for dim in DIMS:
                    score = 3 + (k % 2)
                    if planted and variant == "bad" and topic == "billing" and dim == "clarity":
                        score -= 1
                    con.execute("insert into candidate_scores values (?, ?, ?, ?, ?, 'ok', null, ?, now())",
                                [version, f"i{k}", variant, dim, score, topic])
        frontier = {"baseline": (1000, 0.001, 500), "clean": (1010, 0.001, 500),
                    "bad": (900 if planted else 1000, 0.002, 700)}
        for variant, (q, cost, lat) in frontier.items():
            con.execute("insert into pareto_frontier values (?, ?, ?, null, null, ?, ?, ?, false, now())",
                        [version, variant, q, cost, lat, lat * 2])


def test_a_clean_candidate_passes_and_a_planted_one_fails_with_the_right_rows(tmp_path):
    build(tmp_path / "w.duckdb", planted=True)
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        clean = evaluate(con, "clean", "baseline", VERSION, GateConfig())
        bad = evaluate(con, "bad", "baseline", VERSION, GateConfig())
    assert clean.passed and all(r.passed for r in clean.rows)
    failing = {(r.check, r.subject, r.dimension) for r in bad.rows if not r.passed}
    assert failing == {("regression", "c2", None), ("regression", "3 cases", None),
                       ("slice", "topic=billing", "clarity"), ("pareto", "baseline", None), ("pareto", "clean", None)}
    (drop,) = [r for r in bad.rows if r.check == "slice" and r.subject == "topic=billing" and r.dimension == "clarity"]
    assert drop.delta == -1.0 and drop.threshold == -0.3


def test_the_margin_and_high_stakes_slices_are_configurable(tmp_path):
    build(tmp_path / "w.duckdb", planted=True)
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        loose = evaluate(con, "bad", "baseline", VERSION, GateConfig(slice_margin=1.5, pareto_tolerance=500))
        coding_only = evaluate(con, "bad", "baseline", VERSION, GateConfig(high_stakes_slices={"topic": ["coding"]}))
        with pytest.raises(GateError, match="no regression_results for nobody"):
            evaluate(con, "nobody", "baseline", VERSION, GateConfig())
        with pytest.raises(GateError, match="no regression_results for basline"):  # a typo never passes
            evaluate(con, "clean", "basline", VERSION, GateConfig())
    assert {r.check for r in loose.rows if not r.passed} == {"regression"}
    assert not any(r.subject == "topic=billing" for r in coding_only.rows)


def test_gate_yaml_is_validated(tmp_path):
    (tmp_path / "gate.yaml").write_text("slice_margin: 0.5\nhigh_stakes_slices: {topic: [billing]}\n")
    assert GateConfig.load(tmp_path / "gate.yaml") == GateConfig({"topic": ["billing"]}, 0.5)
    (tmp_path / "gate.yaml").write_text("margin: 0.5\n")
    with pytest.raises(GateError, match="unknown key"):
        GateConfig.load(tmp_path / "gate.yaml")


def gate_cli(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "gate", "--home", str(home), "--judge-model", "m",
                           *args], capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_table_and_json(tmp_path):
    from pipeline.judge.prompt import TEMPLATE_VERSION
    from pipeline.judge.rubric import judge_version, load_rubric

    home = tmp_path / "home"
    build(home / "warehouse.duckdb", planted=True, version=judge_version("m", load_rubric(), TEMPLATE_VERSION))
    source = tmp_path / "source"
    source.mkdir()
    ok = gate_cli(home, "--candidate", "clean", "--baseline", "baseline", "--source", str(source))
    assert ok.returncode == 0 and "PASSED" in ok.stdout.splitlines()[0]
    bad = gate_cli(home, "--candidate", "bad", "--baseline", "baseline", "--source", str(source))
    assert bad.returncode == 1 and "FAILED (5 failing row(s))" in bad.stdout
    assert any(line.startswith("regression") and "c2" in line and "FAIL" in line for line in bad.stdout.splitlines())
    as_json = gate_cli(home, "--candidate", "bad", "--baseline", "baseline", "--json", "--source", str(source))
    doc = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and doc["passed"] is False and doc["failures"] == 5
    assert set(doc) == {"candidate", "baseline", "judge_version", "passed", "failures", "config", "checks"}
    assert set(doc["checks"][0]) == {"check", "subject", "dimension", "baseline", "candidate", "delta", "threshold",
                                     "passed", "detail"}
    missing = gate_cli(home, "--candidate", "nobody", "--baseline", "baseline", "--source", str(source))
    assert missing.returncode == 2 and missing.stderr.startswith("evalfunnel: error: gate: no regression_results")
