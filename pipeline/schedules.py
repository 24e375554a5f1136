"""Schedules. They ship stopped: start one in the UI (Automation) or with
`dagster schedule start <name> -m pipeline.definitions`.

Schedules drive what depends on the clock or on files Dagster cannot see (the logs, the labels)
or costs judge calls; what only follows other assets is declarative automation (definitions.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipeline.jobs import daily_ingest_job, monthly_judge_validation_job, quarterly_eval_rebuild_job
from pipeline.partitions import quarter_start, quarterly

daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily at 02:00 UTC: ingest and anonymize yesterday (UTC), a complete day.")

# at 04:00 UTC on the 2nd of each month, for the month that just ended (its logs are ingested
# and its labels are in by then)
monthly_judge_validation_schedule = dg.build_schedule_from_partitioned_job(
    monthly_judge_validation_job, day_of_month=2, hour_of_day=4, default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Monthly, 04:00 UTC on the 2nd: validate the judge for the month that just ended.")

QUARTERLY_REBUILD_CRON = "0 6 1 1,4,7,10 *"


def previous_quarter(day: date) -> str:
    """The partition key of the quarter before the one `day` is in."""
    return quarter_start((date.fromisoformat(quarter_start(day.isoformat())) - timedelta(days=1)).isoformat())


# At 06:00 UTC on the first day of a quarter, for the quarter that just ended: after the 02:00
# daily ingest has cleaned the quarter's last day (at the quarter's own 00:00 tick, which
# build_schedule_from_partitioned_job would use, that day is not ingested yet).
@dg.schedule(cron_schedule=QUARTERLY_REBUILD_CRON, job=quarterly_eval_rebuild_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED, name="quarterly_eval_rebuild_schedule",
             description="Quarterly, 06:00 UTC on 1 January, April, July and October: rebuild the eval set and "
                         "the offline-online calibration for the quarter that just ended (after its last day "
                         "is ingested at 02:00).")
def quarterly_eval_rebuild_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    when = context.scheduled_execution_time or datetime.now(UTC)
    key = previous_quarter(when.date())
    first = quarterly.get_first_partition_key()
    if first is None or key < first:
        return dg.SkipReason(f"the quarter {key} is before the first partition ({first}): no data that old")
    return dg.RunRequest(partition_key=key)


SCHEDULES = [daily_ingest_schedule, quarterly_eval_rebuild_schedule, monthly_judge_validation_schedule]
