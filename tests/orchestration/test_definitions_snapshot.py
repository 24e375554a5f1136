"""The Definitions' structure against a checked-in snapshot (definitions_snapshot.json).

Every asset's key, group, kinds, owners, partitions (type, start, cron, key format), deps,
checks, automation condition and backfill policy, and every job (its partitions and assets),
schedule and sensor. A change to the graph that nobody meant (an asset leaving a job, a lost
dep, a partitions definition starting somewhere else) fails with a diff of the two.

When the change is intended, regenerate the snapshot and commit it with the change:

    EVALFUNNEL_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/orchestration/test_definitions_snapshot.py

Descriptions and metadata are left out on purpose: they are documentation, not structure, and
change often. Partition starts are written relative to the first day of data (the home's
recorded start), so the snapshot is the same on every machine; a start that no longer follows
the first day shows as a literal date.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.partitions import KEY_FORMAT, QUARTER_CRON, START_DATE, month_start, quarter_start

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
UPDATE_VAR = "EVALFUNNEL_UPDATE_SNAPSHOT"
# a time-window partitions definition's expected start, by its cron
START_RULES = {"0 0 * * *": ("first day of data", lambda day: day),
               "0 0 1 * *": ("month of the first day of data", month_start),
               QUARTER_CRON: ("quarter of the first day of data", quarter_start)}


def partitions(pdef: dg.PartitionsDefinition | None) -> dict | None:
    if pdef is None:
        return None
    if not isinstance(pdef, dg.TimeWindowPartitionsDefinition):
        return {"type": type(pdef).__name__}
    start = pdef.start.strftime(KEY_FORMAT)
    label, rule = START_RULES.get(pdef.cron_schedule, (None, None))
    return {"type": type(pdef).__name__, "cron": pdef.cron_schedule, "fmt": pdef.fmt, "timezone": pdef.timezone,
            "end_offset": pdef.end_offset, "start": label if rule and start == rule(START_DATE) else start}


def condition(cond: dg.AutomationCondition | None):
    """The condition's whole tree: each node's type, label and cron, with its children (a label
    alone would not notice a dropped `~any_deps_missing()` or a changed cron)."""
    if cond is None:
        return None
    node = {"type": type(cond).__name__}
    if cond.get_label():
        node["label"] = cond.get_label()
    for attr in ("cron_schedule", "cron_timezone"):
        if getattr(cond, attr, None):
            node[attr] = getattr(cond, attr)
    if cond.children:
        node["children"] = [condition(child) for child in cond.children]
    return node


def keys(selection) -> list[str]:
    return sorted(k.to_user_string() for k in selection)


def snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        checks = {}
        for check_key in node.check_keys:
            spec = graph.get_check_spec(check_key)
            same = spec.partitions_def == node.partitions_def
            checks[check_key.name] = {"blocking": spec.blocking,
                                      "partitions": "the asset's" if same else partitions(spec.partitions_def)}
        assets[key.to_user_string()] = {
            "group": node.group_name, "kinds": sorted(node.kinds), "owners": sorted(node.owners),
            "partitions": partitions(node.partitions_def), "deps": keys(node.parent_keys), "checks": checks,
            "automation": condition(node.automation_condition),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "pools": sorted(node.pools or ()),
        }
    jobs = {}
    for job in definitions.jobs:
        resolved = definitions.resolve_job_def(job.name)
        # the checks the job runs: a job built `.without_checks()` would drop the blocking ones
        jobs[job.name] = {"partitions": partitions(resolved.partitions_def),
                          "assets": keys(resolved.asset_layer.executable_asset_keys),
                          "checks": keys(job.selection.resolve_checks(graph))}
    schedules = {s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                          "default_status": s.default_status.value} for s in definitions.schedules}
    sensors = {}
    for s in definitions.sensors:
        target = keys(s.asset_selection.resolve(graph)) if s.asset_selection is not None else None
        sensors[s.name] = {"type": s.sensor_type.value, "jobs": sorted(t.job_name for t in s.targets),
                           "assets": target, "default_status": s.default_status.value,
                           "minimum_interval_seconds": s.minimum_interval_seconds}
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def render(value, depth: int = 0) -> str:
    """JSON with one line per field of an asset, job, schedule or sensor (short, readable diffs)."""
    if not isinstance(value, dict) or depth >= 3 or not value:
        return json.dumps(value, sort_keys=True)
    pad = "  " * (depth + 1)
    fields = ",\n".join(f"{pad}{json.dumps(k)}: {render(v, depth + 1)}" for k, v in sorted(value.items()))
    return "{\n" + fields + "\n" + "  " * depth + "}"


def changed_entries(before: dict, after: dict) -> list[str]:
    """'assets report: deps' for every entry added, removed or changed, and which fields changed."""
    lines = []
    for section in sorted(before.keys() | after.keys()):
        old, new = before.get(section, {}), after.get(section, {})
        for name in sorted(old.keys() | new.keys()):
            if name not in old or name not in new:
                lines.append(f"{section} {name}: {'added' if name in new else 'removed'}")
            elif old[name] != new[name]:
                fields = sorted(f for f in old[name].keys() | new[name].keys() if old[name].get(f) != new[name].get(f))
                lines.append(f"{section} {name}: {', '.join(fields)}")
    return lines


def test_definitions_match_the_snapshot():
    now = snapshot(defs)
    current = render(now) + "\n"
    if os.environ.get(UPDATE_VAR) == "1":
        SNAPSHOT.write_text(current)
        return
    assert SNAPSHOT.exists(), f"no {SNAPSHOT.name}: create it with {UPDATE_VAR}=1 (see this test's docstring)"
    expected = SNAPSHOT.read_text()
    if current != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), current.splitlines(keepends=True),
                                            fromfile=f"{SNAPSHOT.name} (checked in)", tofile="the definitions now"))
        changed = "\n".join(f"  {line}" for line in changed_entries(json.loads(expected), now))
        pytest.fail(f"The Dagster definitions no longer match {SNAPSHOT.name}:\n{changed}\n\n{diff}\n"
                    f"If the change is intended, regenerate the snapshot and commit it:\n"
                    f"  {UPDATE_VAR}=1 .venv/bin/python -m pytest tests/orchestration/{Path(__file__).name}",
                    pytrace=False)


def test_partition_starts_are_written_relative_to_the_first_day_of_data():
    from pipeline.partitions import partitions_from

    daily, monthly, quarterly = partitions_from(START_DATE)
    assert [partitions(p)["start"] for p in (daily, monthly, quarterly)] == [
        "first day of data", "month of the first day of data", "quarter of the first day of data"]
    elsewhere = "2020-03-04" if START_DATE != "2020-03-04" else "2020-03-05"
    assert partitions(dg.DailyPartitionsDefinition(start_date=elsewhere))["start"] == elsewhere
