"""Schedules. They ship stopped: start one in the UI (Automation) or with
`dagster schedule start <name> -m pipeline.definitions`."""

from __future__ import annotations

import dagster as dg

from pipeline.jobs import daily_ingest_job

daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED)

SCHEDULES = [daily_ingest_schedule]
