"""The bucketed user_metrics rebuild (issue 15) against its definitions.

- windows.event_metric_rows, the numpy event metrics, against the SQL join it replaced (kept
  here as the reference), on random users and events with the window edges hit on purpose;
- exposure.analysed_users against the SQL group-by it replaced;
- build_user_metrics split into many hash buckets gives the same tables as in one;
- a rebuild that fails midway leaves the previous tables as they were.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from pipeline.experiments import analysis, windows
from pipeline.experiments.analysis import build_user_metrics, register_specs
from pipeline.experiments.exposure import analysed_users
from pipeline.experiments.registry import ExperimentSpec, MetricSpec, load_experiments, load_metrics
from pipeline.experiments.windows import MetricPlan, event_metric_rows
from pipeline.privacy.anonymize import Anonymizer
from pipeline.warehouse import connect, scratch
from tests.experiments.test_user_metrics import write_source

DAY_US = 86_400_000_000
START = dt.date(2026, 3, 1)

# the event metrics as SQL computed them before issue 15: events joined to each user's windows
REFERENCE_EVENT_METRICS = """
with wanted as (
    select distinct experiment_id, event, window_days from (
        select experiment_id, event, window_days from exp_metrics
        union all
        select experiment_id, denominator, window_days from exp_metrics where denominator is not null)
),
uw as (
    select u.uid, u.experiment_id, u.raw_user_id, w.window_days, u.exposed,
           u.exposed - w.window_days * 86400000000 as lo,
           least(u.exposed + w.window_days * 86400000000, u.end_us) as hi
    from users u
    join (select distinct experiment_id, window_days from wanted) w on w.experiment_id = u.experiment_id
),
hits as (
    select uw.uid, ev.event, uw.window_days,
           count(*) filter (where ev.ts >= uw.exposed) as n_post,
           sum(ev.value) filter (where ev.ts >= uw.exposed) as v_post,
           count(*) filter (where ev.ts < uw.exposed) as n_pre,
           sum(ev.value) filter (where ev.ts < uw.exposed) as v_pre
    from uw
    join events ev on ev.user_id = uw.raw_user_id
    where ev.ts >= uw.lo and ev.ts < uw.hi
      and (uw.experiment_id, ev.event, uw.window_days) in (select * from wanted)
    group by uw.uid, ev.event, uw.window_days
)
select u.experiment_id, u.user_id, m.metric,
       case m.kind when 'binary' then (coalesce(num.n_post, 0) > 0)::double
                   when 'sum' then coalesce(num.v_post, 0)
                   else coalesce(num.n_post, 0)::double end,
       case m.kind when 'ratio' then coalesce(den.n_post, 0)::double else 1.0 end,
       case m.kind when 'binary' then (coalesce(num.n_pre, 0) > 0)::double
                   when 'sum' then coalesce(num.v_pre, 0)
                   else coalesce(num.n_pre, 0)::double end,
       case m.kind when 'ratio' then coalesce(den.n_pre, 0)::double else 1.0 end
from users u
join exp_metrics m on m.experiment_id = u.experiment_id
left join hits num on num.uid = u.uid and num.event = m.event and num.window_days = m.window_days
left join hits den on den.uid = u.uid and den.event = m.denominator and den.window_days = m.window_days
"""

METRICS = {
    "buys": MetricSpec("buys", "count", True, "buy", None, 7),
    "buys_28": MetricSpec("buys_28", "count", True, "buy", None, 28),
    "spend": MetricSpec("spend", "sum", True, "buy", None, 7),
    "came_back": MetricSpec("came_back", "binary", True, "visit", None, 3),
    "tickets_per_chat": MetricSpec("tickets_per_chat", "ratio", False, "ticket", "chat", 7),
}


def spec(eid: str, metrics: list[str], days: int = 30) -> ExperimentSpec:
    return ExperimentSpec(experiment_id=eid, start=START, end=START + dt.timedelta(days=days - 1),
                          control="a", variants={"a": 0.5, "b": 0.5}, primary_metrics=tuple(metrics))


def random_case(seed: int):
    """Users of three experiments (two windows in one) and their events, edges included."""
    rng = np.random.default_rng(seed)
    specs = [spec("e0", ["buys", "buys_28", "spend"]), spec("e1", ["came_back", "tickets_per_chat"], days=10),
             spec("e2", ["spend", "tickets_per_chat", "came_back"])]
    t0 = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
    rows = []
    for e, s in enumerate(specs):
        end_us = t0 + (s.end - s.start).days * DAY_US + DAY_US
        for i in rng.choice(60, 40, replace=False):
            rows.append({"experiment_id": s.experiment_id, "raw_user_id": f"r{i}", "user_id": f"p{i}",
                         "variant": "ab"[i % 2], "exposed": int(t0 + rng.integers(0, end_us - t0)), "end_us": end_us})
    users = pa.Table.from_pylist(rows)
    names = ["buy", "visit", "chat", "ticket", "unwanted"]
    events = []
    for row in rows:  # events at a window's edges: exactly at exposure, at lo, at hi, one microsecond off
        for offset in (0, -1, 1, -7 * DAY_US, -7 * DAY_US - 1, 7 * DAY_US, 7 * DAY_US - 1, 3 * DAY_US, 28 * DAY_US - 1):
            events.append((row["raw_user_id"], row["exposed"] + offset, names[int(rng.integers(0, 5))]))
    for _ in range(3000):  # and anywhere, including users in no experiment
        events.append((f"r{int(rng.integers(0, 70))}", int(t0 + rng.integers(-40 * DAY_US, 60 * DAY_US)),
                       names[int(rng.integers(0, 5))]))
    values = np.round(rng.exponential(10, len(events)), 2)
    values[rng.random(len(events)) < 0.2] = 1.0  # a missing value counts 1 (coalesced before)
    events = pa.table({"user_id": [u for u, _, _ in events], "ts": pa.array([t for _, t, _ in events], pa.int64()),
                       "event": [n for _, _, n in events], "value": values})
    return specs, users, events


@pytest.mark.parametrize("seed, key_limit", [(1, None), (2, None), (3, None), (1, 1 << 40)])
def test_event_metrics_equal_the_sql_they_replace(seed, key_limit, monkeypatch):
    """key_limit: (user, time) keys that overflow, as with years of events, searched user by user."""
    if key_limit:
        monkeypatch.setattr(windows, "KEY_LIMIT", key_limit)
    specs, users, events = random_case(seed)
    plan = MetricPlan.build(specs, METRICS)
    with scratch() as con:
        register_specs(con, specs, METRICS)
        con.register("users", users.append_column("uid", pa.array(range(users.num_rows))))
        con.register("events", events)
        expected = {(e, u, m): tuple(v) for e, u, m, *v in con.execute(REFERENCE_EVENT_METRICS).fetchall()}
    kinds = {name: i for i, name in enumerate(plan.events)}
    wanted = events.filter(pa.array([e in kinds for e in events["event"].to_pylist()]))
    kernel_events = pa.table({"user_id": wanted["user_id"], "ts": wanted["ts"],
                              "kind": pa.array([kinds[e] for e in wanted["event"].to_pylist()], pa.uint8()),
                              "value": wanted["value"]})
    ids = pa.array(sorted(set(users["raw_user_id"].to_pylist())))
    kernel_users = users.append_column("experiment", pa.array(
        [plan.experiments.index(e) for e in users["experiment_id"].to_pylist()])).append_column(
        "user", pa.array([ids.to_pylist().index(u) for u in users["raw_user_id"].to_pylist()], pa.int32())).append_column(
        "exposure_at", pa.array(users["exposed"].to_numpy(), pa.int64()).cast(pa.timestamp("us", tz="UTC")))
    rows = event_metric_rows(kernel_users, ids, kernel_events, plan).to_pylist()
    got = {(r["experiment_id"], r["user_id"], r["metric"]):
           (r["value"], r["denominator"], r["pre_value"], r["pre_denominator"]) for r in rows}
    assert len(rows) == len(got) == len(expected) == sum(len(s.metrics) * 40 for s in specs)
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-12, abs=1e-9), key
    assert sum(v[0] for v in got.values()) > 0 and sum(v[2] for v in got.values()) > 0  # not all zeros


def test_analysed_users_equal_the_sql_they_replace():
    rng = np.random.default_rng(4)
    specs = [spec("e0", ["buys"]), spec("e1", ["buys"], days=5)]
    t0 = dt.datetime(2026, 2, 27, tzinfo=dt.UTC)
    rows = [{"experiment_id": ["e0", "e1", "ghost"][int(rng.integers(0, 3))], "user_id": f"u{int(rng.integers(0, 300))}",
             "variant": ["a", "b", "c"][int(rng.integers(0, 3)) if rng.random() < 0.1 else int(rng.integers(0, 2))],
             "assigned_at": t0 + dt.timedelta(seconds=int(rng.integers(0, 40 * 86400)))} for _ in range(2000)]
    rows.append({"experiment_id": "e1", "user_id": "edge", "variant": "a",
                 "assigned_at": dt.datetime(2026, 3, 6, tzinfo=dt.UTC)})  # the day after e1's end
    table = pa.Table.from_pylist(rows, schema=pa.schema([("experiment_id", pa.string()), ("user_id", pa.string()),
                                                         ("variant", pa.string()),
                                                         ("assigned_at", pa.timestamp("us", tz="UTC"))]))
    pads = Anonymizer(b"k").hmac_pads()
    with scratch() as con:
        register_specs(con, specs, METRICS)
        con.register("a", table)
        expected_users = set(con.execute("""
            select experiment_id, user_id, min(variant), min(assigned_at)
            from a join exp_specs s using (experiment_id)
            group by all
            having min(variant) = max(variant)
               and bool_and(variant in (select variant from exp_variants v where v.experiment_id = a.experiment_id))
               and min(assigned_at) >= any_value(s.start_date)::timestamptz
               and min(assigned_at) < (any_value(s.end_date) + 1)::timestamptz""").fetchall())
        registrations = analysis._registrations(con, specs)
    users, ids, issues = analysed_users(table, registrations, pads)
    raw = ids.to_pylist()
    got = {(e, raw[u], v, t) for e, u, v, t in zip(users["experiment_id"].to_pylist(), users["user"].to_pylist(),
                                                   users["variant"].to_pylist(), users["exposure_at"].to_pylist())}
    assert got == expected_users and ("e1", "edge") not in {(e, u) for e, u, _, _ in got}
    anonymizer = Anonymizer(b"k")
    assert users["user_id"].to_pylist() == [anonymizer.pseudonym(raw[u]) for u in users["user"].to_pylist()]
    assert issues[("ghost", "unknown_experiment")] == len({r["user_id"] for r in rows if r["experiment_id"] == "ghost"})
    assert issues[("e1", "outside_window")] >= 1 and issues[("e0", "multiple_variants")] > 0


def tables(con) -> dict[str, list]:
    """The rebuilt tables' rows, sorted (event_rejects without its time of rejection)."""
    return {name: sorted(map(repr, con.execute(f"select {columns} from {name}").fetchall()))
            for name, columns in (("experiment_users", "*"), ("user_metrics", "*"), ("assignment_issues", "*"),
                                  ("event_rejects", "* exclude (rejected_at)"))}


def test_many_buckets_give_the_same_tables_as_one(tmp_path, monkeypatch):
    source = write_source(tmp_path / "src")
    lines = [f"exp,v{i},{'control' if i % 2 else 'treat'},2026-03-0{1 + i % 9}T10:00:00Z" for i in range(300)]
    (source / "assignments" / "more.csv").write_text("experiment_id,user_id,variant,assigned_at\n" + "\n".join(lines))
    events = [f"v{i % 300},2026-03-{10 + i % 9}T{i % 24:02d}:00:00Z,{['purchase', 'visit', 'chat', 'ticket'][i % 4]},"
              for i in range(2000)]
    (source / "events" / "2026" / "more.csv").write_text("user_id,timestamp,event,value\n" + "\n".join(events))
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    pads = Anonymizer(b"salt").hmac_pads()
    with connect(tmp_path / "one.duckdb") as con:
        build_user_metrics(con, loaded.experiments, metrics, source, pads)
        one = tables(con)
    monkeypatch.setattr(analysis, "BUCKET_ASSIGNMENTS", 40)  # 8 buckets
    with connect(tmp_path / "many.duckdb") as con:
        run = build_user_metrics(con, loaded.experiments, metrics, source, pads)
        many = tables(con)
        leftovers = con.execute("select count(*) from duckdb_tables() where table_name like '%_next'").fetchone()[0]
    assert run.seconds["split_events"] >= 0 and leftovers == 0
    assert many == one and len(one["user_metrics"]) > 900


def test_a_failed_rebuild_leaves_the_previous_tables(tmp_path, monkeypatch):
    source = write_source(tmp_path / "src")
    metrics = load_metrics(source / "metrics.yaml")
    loaded = load_experiments(source / "experiments", metrics)
    pads = Anonymizer(b"salt").hmac_pads()
    with connect(tmp_path / "w.duckdb") as con:
        build_user_metrics(con, loaded.experiments, metrics, source, pads)
        before = tables(con)

        def broken(*args):
            raise RuntimeError("disk full")

        monkeypatch.setattr(analysis, "event_metric_rows", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            build_user_metrics(con, loaded.experiments, metrics, source, pads)
        assert tables(con) == before
        assert con.execute("select count(*) from duckdb_tables() where table_name like '%_next'").fetchone()[0] == 0
        with pytest.raises(duckdb.Error):
            con.execute("select * from bucket_metrics")  # nothing left registered
