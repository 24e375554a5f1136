"""The Definitions load, every job and schedule resolves, the sensor asks for the right days."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

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
    [request] = list(schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when)).run_requests)
    return request.partition_key


def test_quarterly_rebuild_targets_the_quarter_that_just_ended():
    assert requested_partition("quarterly_eval_rebuild_schedule", datetime(2026, 10, 1, 0, 0, tzinfo=UTC)) == "2026-07-01"


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
