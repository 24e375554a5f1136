"""Daily, monthly and quarterly partitions, all starting at `environment.start_date()`."""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipeline.environment import start_date

START_DATE = start_date()

# end_offset=1 includes today, so the sensor can ingest a day while it is still being written
daily = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
monthly = dg.MonthlyPartitionsDefinition(start_date=START_DATE[:8] + "01")
quarterly = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1,4,7,10 *", start=START_DATE[:8] + "01", fmt="%Y-%m-%d")


def window_dates(window: dg.TimeWindow) -> tuple[date, date]:
    """A partition time window as [start, end) dates."""
    return window.start.date(), window.end.date()
