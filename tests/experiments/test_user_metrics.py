"""user_metrics on hand-made assignments and events: windows, exclusions and bad input, exactly."""

from __future__ import annotations

import dagster as dg
import yaml

from assets import experiments
from pipeline.experiments.analysis import analyze, build_user_metrics
from pipeline.experiments.registry import load_experiments, load_metrics
from pipeline.privacy.anonymize import Anonymizer
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

SPEC = {"experiment_id": "exp", "start": "2026-03-01", "end": "2026-03-31", "control": "control",
        "variants": {"control": 0.5, "treat": 0.5}, "primary_metrics": ["purchases"],
        "guardrail_metrics": [{"metric": "tickets_per_chat", "non_inferiority_margin": 0.1}],
        "secondary_metrics": ["retained"], "power": None}
METRICS = {"metrics": {
    "purchases": {"kind": "count", "event": "purchase", "window_days": 7, "higher_is_better": True},
    "retained": {"kind": "binary", "event": "visit", "window_days": 7, "higher_is_better": True},
    "tickets_per_chat": {"kind": "ratio", "numerator": "ticket", "denominator": "chat", "window_days": 7,
                         "higher_is_better": False}}}
ASSIGNMENTS = """experiment_id,user_id,variant,assigned_at
exp,u1,control,2026-03-05T10:00:00Z
exp,u1,control,2026-03-06T10:00:00Z
exp,u2,treat,2026-03-05T12:00:00Z
exp,u3,control,2026-03-05T10:00:00Z
exp,u3,treat,2026-03-07T10:00:00Z
exp,u4,treat,2026-02-20T10:00:00Z
exp,u5,other,2026-03-05T10:00:00Z
ghost,u6,a,2026-03-05T10:00:00Z
exp,u7,,2026-03-05T10:00:00Z
exp,u8,treat,not a time
exp,u9,treat,2026-03-08T00:00:00Z
"""
EVENTS = """user_id,timestamp,event,value
u1,2026-03-04T10:00:00Z,purchase,
u1,2026-03-05T10:00:00Z,purchase,
u1,2026-03-11T09:00:00Z,purchase,
u1,2026-03-12T11:00:00Z,purchase,
u1,2026-03-06T10:00:00Z,chat,
u1,2026-03-06T10:05:00Z,ticket,
u1,2026-03-07T10:00:00Z,chat,
u2,2026-03-06T10:00:00Z,visit,
u2,2026-03-06T10:00:00Z,chat,
u3,2026-03-06T10:00:00Z,purchase,
u9,2026-03-09T10:00:00Z,purchase,
u9,2026-03-09T11:00:00Z,purchase,
u9,2026-04-02T11:00:00Z,visit,
"""


def write_source(root):
    (root / "experiments").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "experiments" / "exp.yaml").write_text(yaml.safe_dump(SPEC))
    (root / "metrics.yaml").write_text(yaml.safe_dump(METRICS))
    (root / "assignments").mkdir()
    (root / "assignments" / "a.csv").write_text(ASSIGNMENTS)
    (root / "events" / "2026").mkdir(parents=True)
    (root / "events" / "2026" / "e.csv").write_text(EVENTS)
    return root


def test_windows_exclusions_and_bad_rows_are_exact(tmp_path):
    source = write_source(tmp_path / "src")
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    anonymizer = Anonymizer(b"salt")
    with connect(tmp_path / "w.duckdb") as con:
        run = build_user_metrics(con, loaded.experiments, metrics, source, anonymizer.hmac_pads())
        rows = {(u, m): (v, d, pv, pd) for u, m, v, d, pv, pd in con.execute(
            "select user_id, metric, value, denominator, pre_value, pre_denominator from user_metrics").fetchall()}
        exposure = dict(con.execute("select user_id, exposure_at::varchar from experiment_users").fetchall())
        issues = {(e, i): n for e, i, n in con.execute("select experiment_id, issue, users from assignment_issues").fetchall()}
        results, summaries = analyze(con, loaded.experiments, metrics)
    u1, u2, u9 = (anonymizer.pseudonym(u) for u in ("u1", "u2", "u9"))  # the same pseudonyms as clean_logs
    assert set(exposure) == {u1, u2, u9} and exposure[u1].startswith("2026-03-05 10:00:00")  # first assignment
    # u1, exposed 03-05 10:00, window 7 days: the 03-04 purchase is pre-period; 03-05 10:00 and 03-11 count;
    # 03-12 11:00 is past the window
    assert rows[(u1, "purchases")] == (2.0, 1.0, 1.0, 1.0)
    assert rows[(u1, "tickets_per_chat")] == (1.0, 2.0, 0.0, 0.0)
    assert rows[(u1, "retained")] == (0.0, 1.0, 0.0, 1.0)
    assert rows[(u2, "retained")] == (1.0, 1.0, 0.0, 1.0) and rows[(u2, "tickets_per_chat")] == (0.0, 1.0, 0.0, 0.0)
    assert rows[(u9, "purchases")] == (2.0, 1.0, 0.0, 1.0)
    assert rows[(u9, "retained")][0] == 0.0  # 04-02 is after the experiment's end
    assert len(rows) == 3 * 3 and run.users == 3
    assert issues == {("exp", "multiple_variants"): 1, ("exp", "outside_window"): 1, ("exp", "unknown_variant"): 1,
                      ("ghost", "unknown_experiment"): 1, ("exp", "invalid_row"): 2}
    # one user in control: every control-based result carries the reason instead of failing
    [summary] = summaries
    assert summary["users"] == 3 and summary["excluded_users"] == 3 and summary["decision"] == "inconclusive"
    main = [r for r in results if r["analysis"] == "overall"]
    assert {r["metric"] for r in main} == {"purchases", "tickets_per_chat", "retained"}
    assert all(r["reason"] == "control arm has 1 user(s); at least 2 are needed" for r in main)


def test_the_assets_materialize_and_flag_an_srm(tmp_path):
    source = write_source(tmp_path / "src")
    # 400 users, 60/40 against a 50/50 pre-registration: a sample ratio mismatch
    lines = [f"exp,v{i},{'control' if i % 5 < 3 else 'treat'},2026-03-0{1 + i % 9}T10:00:00Z" for i in range(400)]
    (source / "assignments" / "more.csv").write_text("experiment_id,user_id,variant,assigned_at\n" + "\n".join(lines))
    events = [f"v{i},2026-03-10T10:00:00Z,purchase," for i in range(0, 400, 3)]
    (source / "events" / "2026" / "more.csv").write_text("user_id,timestamp,event,value\n" + "\n".join(events))
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(source)),
                 "pii": PiiResource(salt="k")}
    result = dg.materialize([experiments.user_metrics, experiments.experiment_analysis, experiments.experiment_srm],
                            resources=resources, raise_on_error=False,
                            selection=dg.AssetSelection.assets("user_metrics", "experiment_results", "experiment_summary"))
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [False]
    summary = result.asset_materializations_for_node("experiment_analysis")[-1].metadata
    assert summary["effects"].value.startswith("![chart](data:image/png;base64,")  # the effects chart, for the UI
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        decision, srm = con.execute("select decision, srm_invalid from experiment_summary").fetchone()
        flagged = con.execute("select bool_and(srm_invalid), count(*) from experiment_results").fetchone()
    assert decision == "invalid" and srm and flagged[0] and flagged[1] > 0


def test_moments_from_duckdb_keep_precision_at_large_offsets_and_leave_out_non_finite_values(tmp_path):
    import numpy as np
    import pytest

    from pipeline.experiments.analysis import load_moments
    from pipeline.experiments.stats import arm_estimate

    rng = np.random.default_rng(5)
    values = {"control": 1e8 + rng.normal(0, 1, 5000), "treat": 1e8 + 0.5 + rng.normal(0, 1, 5000)}
    rows = [("exp", f"{variant}{i}", variant, "2026-03-01T00:00:00Z", "big", float(v), 1.0, float(v) - 3.0, 1.0)
            for variant, ys in values.items() for i, v in enumerate(ys)]
    # user_metrics rows that are not finite (from any source): counted, never summed; a non-finite
    # pre-period value only (the CUPED covariate) keeps the user, the covariate imputed by its mean
    rows += [("exp", "nan1", "control", "2026-03-01T00:00:00Z", "big", float("nan"), 1.0, 0.0, 1.0),
             ("exp", "inf1", "treat", "2026-03-01T00:00:00Z", "big", float("inf"), 1.0, 0.0, 1.0),
             ("exp", "pre1", "treat", "2026-03-01T00:00:00Z", "big", 1e8 + 0.5, 1.0, float("nan"), 1.0)]
    values["treat"] = np.append(values["treat"], 1e8 + 0.5)
    with connect(tmp_path / "w.duckdb") as con:
        con.executemany("insert into user_metrics values (?, ?, ?, ?::timestamptz, ?, ?, ?, ?, ?)", rows)
        con.execute("insert into user_segments select experiment_id, user_id, 'device', "
                    "case when hash(user_id) % 2 = 0 then 'ios' else 'web' end from user_metrics")
        moments = load_moments(con)
    arms = moments[("exp", "big")][(None, None)]
    for variant, ys in values.items():
        m = arms[variant]
        assert m.n == len(ys) and m.excluded == 1 and m.imputed == (variant == "treat")
        est = arm_estimate(m, False)
        assert est.unit_var == pytest.approx(np.var(ys, ddof=1), rel=1e-9)  # raw sums gave 2.6 for 1.0
        assert est.mean == pytest.approx(ys.mean(), rel=1e-15)
    # segments share the reference: they add up to the arm exactly
    segments = [v for (dim, _), v in moments[("exp", "big")].items() if dim == "device"]
    total = segments[0]["control"] + segments[1]["control"]
    assert total.n == 5000 and total.excluded == 1
    assert arm_estimate(total, False).unit_var == pytest.approx(np.var(values["control"], ddof=1), rel=1e-9)


def revenue_source(root, secondary=("retained", "revenue")):
    """The hand-made source plus a `revenue` sum metric over the purchase events' values."""
    source = write_source(root)
    metrics = dict(METRICS["metrics"], revenue={"kind": "sum", "event": "purchase", "window_days": 7,
                                                 "higher_is_better": True})
    (source / "metrics.yaml").write_text(yaml.safe_dump({"metrics": metrics}))
    (source / "experiments" / "exp.yaml").write_text(yaml.safe_dump(dict(SPEC, secondary_metrics=list(secondary))))
    return source


def u2_revenue(tmp_path, source):
    """Build user_metrics; returns (the run, u2's revenue, the connection's event_rejects rows)."""
    metric_specs = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metric_specs)
    anonymizer = Anonymizer(b"salt")
    with connect(tmp_path / "w.duckdb") as con:
        run = build_user_metrics(con, loaded.experiments, metric_specs, source, anonymizer.hmac_pads())
        rejects = con.execute("select source_file, \"timestamp\", value, problem from event_rejects "
                              "order by \"timestamp\"").fetchall()
        revenue = con.execute("select value from user_metrics where metric = 'revenue' and user_id = $u",
                              {"u": anonymizer.pseudonym("u2")}).fetchone()[0]
        finite = con.execute("select bool_and(isfinite(value) and isfinite(pre_value)) from user_metrics").fetchone()[0]
    assert finite
    return run, revenue, rejects


def test_event_values_that_are_not_finite_numbers_are_rejected_with_their_reason(tmp_path):
    source = revenue_source(tmp_path / "src")
    (source / "events" / "2026" / "values.csv").write_text(
        "user_id,timestamp,event,value\n"
        "u2,2026-03-06T10:00:00Z,purchase,12.5\n"
        "u2,2026-03-06T11:00:00Z,purchase,NaN\n"
        "u2,2026-03-06T12:00:00Z,purchase,inf\n"
        "u2,2026-03-06T13:00:00Z,purchase,-Infinity\n"
        "u2,2026-03-06T14:00:00Z,purchase,twelve\n"
        "u2,2026-03-06T16:00:00Z,purchase,\n")
    run, revenue, rejects = u2_revenue(tmp_path, source)
    problems = {ts[11:16]: (value, problem) for _, ts, value, problem in rejects}
    assert problems == {"11:00": ("NaN", "value is not a finite number"), "12:00": ("inf", "value is not a finite number"),
                        "13:00": ("-Infinity", "value is not a finite number"),
                        "14:00": ("twelve", "unreadable value")}, rejects
    assert all(f.endswith("values.csv") for f, *_ in rejects)
    assert run.event_rejects == {"value is not a finite number": 3, "unreadable value": 1}
    # the valid purchases: 12.5, and the row without a value, which counts 1 (the contract's default)
    assert revenue == 12.5 + 1.0


def test_contract_columns_match_whatever_their_case_and_spacing(tmp_path):
    # a new user's export: capitalised headers, spaces after commas, JSONL keys in capitals
    source = revenue_source(tmp_path / "src", secondary=("revenue",))
    (source / "events" / "2026" / "e.csv").unlink()
    (source / "events" / "2026" / "caps.csv").write_text(
        "User_ID, Timestamp, Event, Value\n"
        "u2, 2026-03-06T10:00:00Z, purchase, 19.99\n"
        "u2, 2026-03-06T11:00:00Z, purchase, nan\n")
    (source / "events" / "2026" / "caps.jsonl").write_text(
        '{"USER_ID": "u2", "TIMESTAMP": "2026-03-06T12:00:00Z", "EVENT": "purchase", "VALUE": 5}\n'
        '{"USER_ID": "u2", "TIMESTAMP": "2026-03-06T13:00:00Z", "EVENT": "purchase", "VALUE": "abc"}\n')
    run, revenue, _ = u2_revenue(tmp_path, source)
    assert revenue == 19.99 + 5.0  # not 4 (every event counted as 1 when `Value` was not recognized)
    assert run.event_rejects == {"value is not a finite number": 1, "unreadable value": 1}
