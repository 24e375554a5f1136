"""Schedules. They ship stopped: start one in the UI (Automation) or with
`dagster schedule start <name> -m pipeline.definitions`."""

from __future__ import annotations

import dagster as dg

from pipeline.jobs import daily_ingest_job, monthly_judge_validation_job, quarterly_eval_rebuild_job

daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED)

# at 00:00 UTC on the first day of each quarter, for the quarter that just ended (the
# partitions' own cron; a custom-cron partition set takes no hour of its own)
quarterly_eval_rebuild_schedule = dg.build_schedule_from_partitioned_job(
    quarterly_eval_rebuild_job, default_status=dg.DefaultScheduleStatus.STOPPED)

# at 04:00 UTC on the 2nd of each month, for the month that just ended (its logs are ingested
# and its labels are in by then)
monthly_judge_validation_schedule = dg.build_schedule_from_partitioned_job(
    monthly_judge_validation_job, day_of_month=2, hour_of_day=4, default_status=dg.DefaultScheduleStatus.STOPPED)

SCHEDULES = [daily_ingest_schedule, quarterly_eval_rebuild_schedule, monthly_judge_validation_schedule]
