"""Daily, monthly and quarterly partitions, all starting at `environment.start_date()`."""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipeline.environment import start_date

START_DATE = start_date()

# the last partition is yesterday: the 02:00 schedule ingests a complete day
daily = dg.DailyPartitionsDefinition(start_date=START_DATE)
monthly = dg.MonthlyPartitionsDefinition(start_date=START_DATE[:8] + "01")
quarterly = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1,4,7,10 *", start=START_DATE[:8] + "01", fmt="%Y-%m-%d")


def window_dates(window: dg.TimeWindow) -> tuple[date, date]:
    """A partition time window as [start, end) dates."""
    return window.start.date(), window.end.date()
