"""The source matrix: `evalfunnel run` on logs alone, on logs plus each optional input alone
(full, and present but empty), and on everything together (full, and all empty). Every run
exits 0, every asset is materialized, and the tables an input feeds hold rows exactly when the
input has them.

The runs go through `pipeline.cli.main` in this process (the path `evalfunnel run` takes, minus
a fresh interpreter per source, which would cost 15 s of imports each).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.warehouse import connect
from tests.sources.builders import OPTIONAL, build_source

# the tables each optional input must fill (beyond what logs alone give)
FILLS = {
    "experiments": ("experiment_results", "experiment_summary", "user_metrics"),
    "metrics": (),
    "pointwise_labels": ("human_labels", "judge_human_agreement"),
    "pairwise_labels": ("human_labels",),
    "pointwise_judgments": ("judge_scores",),
    "pairwise_judgments": ("pairwise_judgments",),
    "candidate_responses": ("candidate_responses", "candidate_scores", "pairwise_judgments", "variant_ratings"),
    "regression_set": ("regression_set",),
}
ALWAYS = ("raw_logs", "clean_logs", "eval_set", "eval_set_versions", "judge_scores", "calibration_history")
EMPTY_WITHOUT_INPUT = ("experiment_results", "human_labels", "candidate_responses", "regression_set",
                       "pairwise_judgments", "regression_results")
CASES = ([("logs-only", (), False), ("everything", ("all",), False), ("everything-empty", ("all",), True)]
         + [(name, (name,), False) for name in OPTIONAL] + [(f"{name}-empty", (name,), True) for name in OPTIONAL])


def run_cli(monkeypatch: pytest.MonkeyPatch, source: Path, home: Path) -> int:
    from pipeline import cli

    # the CLI points these at the home; registering them here restores them after the test
    for var, value in (("EVALFUNNEL_HOME", home), ("DAGSTER_HOME", home / "dagster"), ("EVALFUNNEL_SOURCE", source)):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setenv("EVALFUNNEL_PII_SALT", "matrix-key")
    return cli.main(["run", "--source", str(source), "--home", str(home)])


def materialized_assets(home: Path) -> set[str]:
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    return {key.to_user_string() for key in instance.get_asset_keys()
            if instance.get_latest_materialization_event(key) is not None}


@pytest.mark.parametrize("name, parts, empty", CASES, ids=[c[0] for c in CASES])
def test_every_valid_source_runs_to_the_end(name, parts, empty, tmp_path, monkeypatch, capsys):
    source = build_source(tmp_path / "src", parts, empty=empty)
    home = tmp_path / "home"
    code = run_cli(monkeypatch, source, home)
    out = capsys.readouterr()
    assert code == 0, out.out[-3000:] + out.err[-3000:]

    from pipeline.definitions import defs

    every_asset = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert every_asset - materialized_assets(home) == set()
    assert (home / "report" / "index.html").exists()
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        def rows(table: str) -> int:
            return con.execute(f'select count(*) from "{table}"').fetchone()[0]  # names from the constants above

        for table in ALWAYS:
            assert rows(table) > 0, table
        present = set(OPTIONAL) if parts == ("all",) else set(parts)
        filled = {t for p in present for t in FILLS[p]} if not empty else set()
        if not empty and {"candidate_responses", "regression_set"} <= present:
            filled.add("regression_results")
        for table in filled:
            assert rows(table) > 0, f"{table} is empty with {name}"
        for table in set(EMPTY_WITHOUT_INPUT) - filled:
            assert rows(table) == 0, f"{table} has rows without its input ({name})"
