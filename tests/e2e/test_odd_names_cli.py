"""Issue 12, finding 10, as a user meets it: a home and a source whose paths hold quotes, and
experiment and candidate variants with names matplotlib would read as math, through
`evalfunnel run` and `evalfunnel report`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.warehouse import connect

pytestmark = pytest.mark.e2e

ODD_EXPERIMENT_VARIANT = "on$\\foo$"  # was: ValueError Unknown symbol: \foo (matplotlib math text)
ODD_CANDIDATE = "it's \"$x^2$\" <b>%s</b> \\n"


def evalfunnel(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALFUNNEL_", "DAGSTER_"))}
    env.update(EVALFUNNEL_PII_SALT="0" * 64, LITELLM_LOCAL_MODEL_COST_MAP="True")
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def rename_variants(source: Path) -> None:
    """The demo's citations experiment with its treatment renamed, and one candidate renamed."""
    spec = source / "experiments" / "citations-2026-10.yaml"
    spec.write_text(spec.read_text().replace("'on'", json.dumps(ODD_EXPERIMENT_VARIANT)))
    assignments = source / "assignments" / "citations-2026-10.csv"
    assignments.write_text(assignments.read_text().replace(",on,", f",{ODD_EXPERIMENT_VARIANT},"))
    candidates = source / "candidate_responses" / "candidates.jsonl"
    rows = [json.loads(line) for line in candidates.read_text().splitlines() if line.strip()]
    for row in rows:
        if row["variant"] == "concise-v2":
            row["variant"] = ODD_CANDIDATE
    candidates.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_quotes_in_paths_and_math_like_names_run_to_the_end(tmp_path):
    base = tmp_path / "it's here"
    source, home = base / "source 'q'", base / "home \"h\" $x it's"
    made = evalfunnel("demo-data", "--out", str(source), "--months", "1", "--interactions", "300", cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    rename_variants(source)
    run = evalfunnel("run", "--source", str(source), "--home", str(home), cwd=tmp_path)
    assert run.returncode == 0, (run.stdout[-2000:], [line for line in run.stderr.splitlines() if "rror" in line][:20])
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        variants = {v for (v,) in con.execute("select distinct variant from experiment_results "
                                              "where experiment_id = 'citations-2026-10'").fetchall()}
        rated = {v for (v,) in con.execute("select distinct variant from variant_ratings").fetchall()}
        logs = con.execute("select count(*) from clean_logs").fetchone()[0]
    assert ODD_EXPERIMENT_VARIANT in variants and ODD_CANDIDATE in rated and logs > 250
    page = (home / "report" / "index.html").read_text(encoding="utf-8")
    # the chart labels hold the names as written (matplotlib's SVG keeps each label's text in a comment)
    assert f"citations-2026-10/{ODD_EXPERIMENT_VARIANT} copy_rate (primary)" in page
    assert "<b>%s</b>" not in page and "&lt;b&gt;%s&lt;/b&gt;" in page  # in the tables, as text
    report = evalfunnel("report", "--home", str(home), "--out", str(base / "out 'r'"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (base / "out 'r'" / "index.html").read_text(encoding="utf-8").count("<svg") >= 5
