"""user_metrics on inputs the demo never writes (found by the break-it review of issue 15's
rework): times that are no instant or lie millennia away, hundreds of counted events, an
experiment with many metrics beside small ones, windows too long to compute, and the split
files a killed rebuild left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from pipeline.experiments import analysis
from pipeline.experiments.analysis import build_user_metrics
from pipeline.experiments.registry import ExperimentConfigError, load_experiments, load_metrics
from pipeline.experiments.windows import MetricPlan
from pipeline.privacy.anonymize import Anonymizer
from pipeline.warehouse import connect
from tests.experiments.test_user_metrics import write_source

PADS = Anonymizer(b"salt").hmac_pads()


def build(source, path):
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    with connect(path) as con:
        run = build_user_metrics(con, loaded.experiments, metrics, source, PADS)
        rows = {(u, m): v for u, m, v in con.execute("select user_id, metric, value from user_metrics").fetchall()}
        rejects = con.execute('select "timestamp", problem from event_rejects order by all').fetchall()
    return run, rows, rejects


def test_times_that_are_no_instant_are_rejected_and_far_ones_ignored(tmp_path):
    """'infinity' is a timestamp to DuckDB but has no epoch: it crashed the numpy windows. Events
    280,000 years apart overflowed their int64 span. Both now leave the other rows exact."""
    source = write_source(tmp_path / "src")
    _, expected, _ = build(source, tmp_path / "plain.duckdb")
    odd = ["u1,infinity,purchase,", "u1,-infinity,purchase,", "u9,290000-01-01 (BC),purchase,",
           "u9,294000-01-01,purchase,", "u2,1900-01-01T00:00:00Z,visit,"]
    (source / "events" / "odd.csv").write_text("user_id,timestamp,event,value\n" + "\n".join(odd) + "\n")
    run, rows, rejects = build(source, tmp_path / "odd.duckdb")
    assert rows == expected and sum(rows.values()) > 0  # the far events fall in no window
    assert ("infinity", "timestamp is not a finite time") in rejects
    assert ("-infinity", "timestamp is not a finite time") in rejects
    assert run.event_rejects["timestamp is not a finite time"] == 2


def test_hundreds_of_counted_events_and_cells_per_experiment(tmp_path):
    """300 count metrics on 300 events (event kinds were uint8: 256 crashed), in one experiment
    beside a small one; each experiment's per-user cells are only its own metrics' (the dense
    counts were users x windows x every experiment's events)."""
    source = write_source(tmp_path / "src")
    metrics_doc = yaml.safe_load((source / "metrics.yaml").read_text())
    spec = yaml.safe_load((source / "experiments" / "exp.yaml").read_text())
    many = {f"m{i}": {"kind": "count", "event": f"ev{i}", "higher_is_better": True, "window_days": 1 + i % 30}
            for i in range(300)}
    metrics_doc["metrics"].update(many) if "metrics" in metrics_doc else metrics_doc.update(many)
    (source / "metrics.yaml").write_text(yaml.safe_dump(metrics_doc))
    big = {**spec, "experiment_id": "big", "primary_metrics": spec["primary_metrics"][:1], "guardrail_metrics": [],
           "secondary_metrics": sorted(many)}
    (source / "experiments" / "big.yaml").write_text(yaml.safe_dump(big))
    assignments = "\n".join(f"big,b{i},{spec['control'] if i % 2 else next(v for v in spec['variants'] if v != spec['control'])},"
                            f"2026-03-05T10:00:00Z" for i in range(20))
    (source / "assignments" / "big.csv").write_text("experiment_id,user_id,variant,assigned_at\n" + assignments + "\n")
    events = "\n".join(f"b{i % 20},2026-03-05T{10 + i % 12:02d}:30:00Z,ev{i % 300}," for i in range(3000))
    (source / "events" / "big.csv").write_text("user_id,timestamp,event,value\n" + events + "\n")
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    plan = MetricPlan.build(loaded.experiments, metrics)
    exp = plan.experiments.index("exp")
    n_exp_metrics = plan.metric_start[exp + 1] - plan.metric_start[exp]
    assert len(plan.events) > 300 and plan.n_cells[exp] <= 2 * n_exp_metrics
    assert plan.n_cells[plan.experiments.index("big")] == 301
    _, rows, _ = build(source, tmp_path / "w.duckdb")
    anonymizer = Anonymizer(b"salt")
    got = {m: v for (u, m), v in rows.items() if u == anonymizer.pseudonym("b0")}
    # b0 has the events i = 0, 20, 40, ..., 2980: ev0, ev20, ..., ev280, ten of each, all within
    # hours after its exposure (the shortest window is a day)
    assert len(got) == 301 and got["m0"] == 10.0 and got["m280"] == 10.0 and got["m1"] == 0.0
    assert sum(got[f"m{i}"] for i in range(300)) == 150


def test_a_window_too_long_to_compute_is_a_config_error(tmp_path):
    source = write_source(tmp_path / "src")
    doc = yaml.safe_load((source / "metrics.yaml").read_text())
    table = doc.get("metrics", doc)
    first = next(iter(table))
    table[first]["window_days"] = 200_000_000  # times DAY_US wraps around int64
    (source / "metrics.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ExperimentConfigError, match="window_days must be a whole number of days from 1 to 36,600"):
        load_metrics(source / "metrics.yaml")


def test_split_files_a_killed_rebuild_left_are_removed(tmp_path, monkeypatch):
    """A rebuild killed while split into buckets leaves Arrow files holding raw user ids: the
    next rebuild removes every staging folder whose process is gone, never a live one's."""
    source = write_source(tmp_path / "src")
    temp = tmp_path / "spill"
    temp.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [temp / f"experiments-{dead.stdout.strip()}-abc", temp / "experiments-x1y2z3"]  # the older naming too
    live = temp / f"experiments-{os.getppid()}-def"
    for folder in (*stale, live):
        (folder / "events").mkdir(parents=True)
        (folder / "events" / "0.arrow").write_bytes(b"raw user ids")
    monkeypatch.setattr(analysis, "_temp_directory", lambda con: str(temp))
    monkeypatch.setattr(analysis, "BUCKET_ASSIGNMENTS", 2)
    _, rows, _ = build(source, tmp_path / "w.duckdb")
    assert rows and not any(folder.exists() for folder in stale) and live.exists()
    assert [p.name for p in temp.iterdir()] == [live.name]  # this rebuild's own folder is gone too


def test_a_malformed_line_or_ragged_row_loses_only_itself(tmp_path):
    """DuckDB's reader fails a whole JSONL file on one malformed line (the build crashed) and a
    whole CSV file on one ragged row (every user of the file was lost). Such a file is read line
    by line instead: the good rows load, each bad one is kept with its line and why."""
    source = write_source(tmp_path / "src")
    _, expected, _ = build(source, tmp_path / "plain.duckdb")
    spec = yaml.safe_load((source / "experiments" / "exp.yaml").read_text())
    control, treat = spec["control"], next(v for v in spec["variants"] if v != spec["control"])
    good = [json.dumps({"experiment_id": "exp", "user_id": f"j{i}", "variant": [control, treat][i % 2],
                        "assigned_at": "2026-03-05T10:00:00Z"}) for i in range(50)]
    (source / "assignments" / "more.jsonl").write_text("\n".join(good[:20] + ["{not json", "[1, 2]"] + good[20:]) + "\n")
    rows = [f"exp,c{i},{[control, treat][i % 2]},2026-03-05T10:00:00Z" for i in range(40)]
    (source / "assignments" / "more.csv").write_text(
        "experiment_id,user_id,variant,assigned_at\n" + "\n".join(rows[:10] + ["exp,x2"] + rows[10:]) + "\n")
    events = [json.dumps({"user_id": f"j{i}", "timestamp": "2026-03-06T10:00:00Z", "event": "purchase"}) for i in range(50)]
    (source / "events" / "more.jsonl").write_text("\n".join(events[:5] + ['{"user_id": "j1", "timest'] + events[5:]) + "\n")
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    with connect(tmp_path / "w.duckdb") as con:
        run = build_user_metrics(con, loaded.experiments, metrics, source, PADS)
        users = {u for (u,) in con.execute("select user_id from experiment_users").fetchall()}
        purchases = dict(con.execute("select user_id, value from user_metrics where metric = 'purchases'").fetchall())
        invalid = con.execute("select users, detail from assignment_issues where issue = 'invalid_row'").fetchall()
        rejects = con.execute("select problem, source_file from event_rejects").fetchall()
    anonymizer = Anonymizer(b"salt")
    assert {anonymizer.pseudonym(f"j{i}") for i in range(50)} <= users
    assert {anonymizer.pseudonym(f"c{i}") for i in range(40)} <= users
    assert all(purchases[anonymizer.pseudonym(f"j{i}")] == 1.0 for i in range(50))
    assert sum(n for n, _ in invalid) == 2 + 3  # the 2 bad rows write_source has, and the 3 bad lines
    # assignment_issues counts the bad rows with one example (the rows stay in the source view)
    [example] = [d for n, d in invalid if n == 3]
    assert example.startswith(("not a JSON object (line 21) (e.g. ", "not a JSON object (line 22) (e.g. ",
                               "CSV row has 2 fields where the header has 4 (file line 12) (e.g. "))
    assert any(p.startswith("not a JSON object (line 6)") and f.endswith("more.jsonl") for p, f in rejects)
    assert run.users == len(users) == len(expected) // 3 + 90
