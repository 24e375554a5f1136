"""The Definitions load, every job and schedule resolves, the sensor asks for the right days, every
asset has owners, kinds and a group, the automation follows its inputs, and importing warns nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.resources import SourceResource


def test_definitions_load_and_every_job_resolves():
    dg.Definitions.validate_loadable(defs)
    for job in defs.jobs:
        assert defs.resolve_job_def(job.name).name == job.name
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} >= {"raw_logs", "log_rejects", "clean_logs", "regression_set", "eval_set", "judge_scores", "candidate_responses", "pairwise_judgments", "variant_ratings", "pareto_frontier", "experiment_samples", "regression_results"}


def test_schedules_ship_stopped_and_target_the_previous_day():
    for schedule in defs.schedules:
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    schedule = defs.resolve_schedule_def("daily_ingest_schedule")
    ctx = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 10, 5, 2, 0, tzinfo=UTC))
    [request] = list(schedule.evaluate_tick(ctx).run_requests)
    assert request.partition_key == "2026-10-04"


def test_sensor_requests_each_touched_day_once(demo_source):
    sensor = defs.resolve_sensor_def("log_files_sensor")
    ctx = dg.build_sensor_context(resources={"source": SourceResource(source_dir=str(demo_source))}, definitions=defs)
    result = sensor.evaluate_tick(ctx)
    keys = sorted(r.partition_key for r in result.run_requests)
    assert keys[0] == "2026-09-01" and keys[-1] == "2026-10-31" and len(keys) == len(set(keys)) == 61
    again = dg.build_sensor_context(cursor=result.cursor, resources={"source": SourceResource(source_dir=str(demo_source))},
                                   definitions=defs)
    assert list(sensor.evaluate_tick(again).run_requests) == []


def test_sensor_waits_for_todays_partition(source):
    from tests.conftest import record, write_jsonl

    today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_jsonl(source / "logs" / "today.jsonl", [record("t", ts=today)])
    write_jsonl(source / "logs" / "old.jsonl", [record("o", ts="2026-05-02T10:00:00Z")])
    sensor = defs.resolve_sensor_def("log_files_sensor")
    res = {"source": SourceResource(source_dir=str(source))}
    first = sensor.evaluate_tick(dg.build_sensor_context(resources=res, definitions=defs))
    assert [r.partition_key for r in first.run_requests] == ["2026-05-02"]
    assert "logs/today.jsonl" not in first.cursor  # looked at again on the next tick


def requested_partition(schedule_name: str, when: datetime) -> str:
    schedule = defs.resolve_schedule_def(schedule_name)
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
    [request] = list(schedule.evaluate_tick(context).run_requests)
    return request.partition_key


def test_quarterly_rebuild_targets_the_quarter_that_just_ended_after_its_last_day_is_ingested():
    schedule = defs.resolve_schedule_def("quarterly_eval_rebuild_schedule")
    daily = defs.resolve_schedule_def("daily_ingest_schedule")
    # 06:00 on the quarter's first day: after the 02:00 ingest of the quarter's last day
    assert (schedule.cron_schedule, daily.cron_schedule) == ("0 6 1 1,4,7,10 *", "0 2 * * *")
    assert "Quarterly" in schedule.description
    assert requested_partition("quarterly_eval_rebuild_schedule", datetime(2026, 10, 1, 6, 0, tzinfo=UTC)) == "2026-07-01"
    assert requested_partition("quarterly_eval_rebuild_schedule", datetime(2027, 1, 1, 6, 0, tzinfo=UTC)) == "2026-10-01"


def test_quarterly_rebuild_skips_a_quarter_before_the_first_partition():
    schedule = defs.resolve_schedule_def("quarterly_eval_rebuild_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2020, 1, 1, 6, 0, tzinfo=UTC),
                                        repository_def=defs.get_repository_def())
    result = schedule.evaluate_tick(context)
    assert not result.run_requests and "before the first partition" in result.skip_message


def test_monthly_judge_validation_targets_the_month_that_just_ended():
    assert requested_partition("monthly_judge_validation_schedule", datetime(2026, 10, 2, 4, 0, tzinfo=UTC)) == "2026-09-01"
    job = defs.resolve_job_def("monthly_judge_validation")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {
        "experiment_samples", "judge_scores", "judge_human_agreement", "judge_drift", "calibration_history"}
    quarterly = defs.resolve_job_def("quarterly_eval_rebuild")
    assert {k.to_user_string() for k in quarterly.asset_layer.executable_asset_keys} >= {
        "eval_set", "offline_online", "offline_online_correlation"}


def test_run_covers_partitions_that_overlap_the_data():
    from datetime import date

    from pipeline.jobs import daily_ingest_job, partition_range, quarterly_eval_rebuild_job

    # data from mid-May to October: the quarter that began in April overlaps it
    assert partition_range(quarterly_eval_rebuild_job, date(2026, 5, 15), date(2026, 10, 31)) == ("2026-04-01", "2026-07-01")
    assert partition_range(daily_ingest_job, date(2026, 5, 15), date(2026, 5, 17)) == ("2026-05-15", "2026-05-17")


def test_every_asset_has_an_owner_kinds_and_a_group():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners and node.kinds and node.group_name not in (None, "default"), key.to_user_string()
        if node.partitions_def is not None:
            assert node.tags["partitions"] in ("daily", "monthly", "quarterly"), key.to_user_string()
    assert graph.get(dg.AssetKey("eval_set")).tags["partitions"] == "quarterly"


def requested(result) -> dict[str, set]:
    """What one evaluation of the automation conditions requested: asset -> partition keys."""
    graph = defs.resolve_asset_graph()
    found = {k.to_user_string(): set(result.get_requested_partitions(k)) for k in graph.get_all_asset_keys()}
    return {k: p for k, p in found.items() if p}


# Dagster's own evaluate_automation_conditions uses a beta parameter internally
@pytest.mark.filterwarnings("ignore:Parameter `include_sources` of function `AssetSelection.all`:dagster.BetaWarning")
def test_automation_ships_stopped_and_follows_inputs():
    """The automation sensor ships stopped; evaluated by hand (as the daemon would once it is
    started), the conditions request nothing at first, then the latest month of
    judge_human_agreement once its inputs updated, then calibration_history and the report
    (requested with it: Dagster runs them after it) once that month updated."""
    from pipeline.partitions import monthly

    sensor = defs.resolve_sensor_def("evalfunnel_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert requested(first) == {}
    for name in ("human_labels", "judge_scores", "pairwise_judgments"):
        instance.report_runless_asset_event(dg.AssetMaterialization(name))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    latest = monthly.get_last_partition_key()
    assert requested(second) == {"judge_human_agreement": {latest}}
    instance.report_runless_asset_event(dg.AssetMaterialization("judge_human_agreement", partition=latest))
    third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
    assert requested(third) == {"calibration_history": {None}, "report": {None}}
    # nothing new: nothing requested again
    fourth = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=third.cursor)
    assert requested(fourth) == {}


def test_importing_the_definitions_warns_nothing(tmp_path):
    """`dagster dev` printed Dagster's beta and preview warnings; the ones this project accepts
    are filtered in pipeline/definitions.py by category and message, nothing else is."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "EVALFUNNEL_HOME": str(tmp_path), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-W", "default", "-c", "import pipeline.definitions"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line for line in done.stderr.splitlines() if "Warning:" in line] == []
