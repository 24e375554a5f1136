"""Daily, monthly and quarterly partitions, starting with the first day of data.

`environment.start_date()` is the first day with in-range data (what `evalfunnel run` recorded
for the home; see `environment.record_start_date`). The daily partitions start on that day, the
monthly ones on its month and the quarterly ones on its quarter, so the first day's month and
quarter have a partition and nothing starts earlier than the data needs.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipeline.environment import start_date

# Calendar quarters, keyed by their first day (2026-07-01 is July to September). Dagster has no
# quarterly schedule type, so the UI shows this cron where it names the partitions; the jobs,
# the schedule and the assets' `partitions` tag say "quarterly".
QUARTER_CRON = "0 0 1 1,4,7,10 *"
KEY_FORMAT = "%Y-%m-%d"


def month_start(day: str) -> str:
    """The first day of `day`'s month (ISO dates)."""
    return date.fromisoformat(day).replace(day=1).isoformat()


def quarter_start(day: str) -> str:
    """The first day of `day`'s calendar quarter (ISO dates)."""
    d = date.fromisoformat(day)
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1).isoformat()


def partitions_from(first_day: str) -> tuple[dg.DailyPartitionsDefinition, dg.MonthlyPartitionsDefinition,
                                             dg.TimeWindowPartitionsDefinition]:
    """The daily, monthly and quarterly partitions for data that starts on `first_day`.

    Each set starts with the window that holds `first_day` (a time-window set whose start is not
    on its cron would begin with the next window: a quarterly set "starting" 2026-05-01 begins in
    July, and May and June would have no quarter)."""
    return (dg.DailyPartitionsDefinition(start_date=first_day),
            dg.MonthlyPartitionsDefinition(start_date=month_start(first_day)),
            dg.TimeWindowPartitionsDefinition(cron_schedule=QUARTER_CRON, start=quarter_start(first_day),
                                              fmt=KEY_FORMAT))


START_DATE = start_date()
# the last daily partition is yesterday's: the 02:00 schedule ingests a complete day
daily, monthly, quarterly = partitions_from(START_DATE)


def window_dates(window: dg.TimeWindow) -> tuple[date, date]:
    """A partition time window as [start, end) dates."""
    return window.start.date(), window.end.date()
