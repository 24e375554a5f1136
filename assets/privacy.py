"""Anonymization: clean_logs per day, and the blocking PII residue check."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg

from assets import check_per_partition, per_partition
from assets.logs import DUCKDB_POOL
from pipeline.metadata import table_metadata
from pipeline.partitions import daily, window_dates
from pipeline.privacy import metadata as cleaning_report
from pipeline.privacy.cleaning import clean_window, purge_raw, residue_for_days, retention_days
from pipeline.progress import ProgressLog
from pipeline.resources import PiiResource, WarehouseResource


def _days(con, start: date, end: date) -> tuple[dict[str, int], dict[str, Counter]]:
    """clean_logs rows and PII replacements per day of [start, end), as the tables now hold them."""
    window = {"s": start, "e": end}
    rows = {str(d): n for d, n in con.execute(
        "select log_date, count(*) from clean_logs where log_date >= $s and log_date < $e group by 1", window).fetchall()}
    replaced: dict[str, Counter] = {}
    for d, kind, n in con.execute("select log_date, pii_type, sum(replaced) from pii_replacements "
                                  "where log_date >= $s and log_date < $e group by 1, 2", window).fetchall():
        replaced.setdefault(str(d), Counter())[kind] = int(n)
    return rows, replaced


@dg.asset(partitions_def=daily, deps=["raw_logs"], kinds={"duckdb", "polars"}, group_name="anonymize",
          backfill_policy=dg.BackfillPolicy.single_run(), pool=DUCKDB_POOL, metadata=table_metadata("clean_logs"))
def clean_logs(context: dg.AssetExecutionContext, warehouse: WarehouseResource, pii: PiiResource) -> dg.MaterializeResult:
    """raw_logs with PII in every text replaced by typed placeholders and ids pseudonymized."""
    start, end = window_dates(context.partition_time_window)
    with warehouse.connect() as con:
        result = clean_window(con, pii.anonymizer(), start, end,
                              progress=ProgressLog("clean_logs", context.log.info, unit="days"))
        # raw text is kept only as long as the retention says, and only once it has been cleaned
        purge = purge_raw(con, datetime.now(UTC).date(), retention_days())
        rows, replaced = _days(con, start, end)
    context.log.info(f"cleaned {result.rows:,} rows of {start}..{end}, {sum(result.replaced.values()):,} PII values replaced"
                     + (f"; purged the raw rows of {purge.days} day(s) before {purge.cutoff}" if purge.days else ""))
    # one run may cover many days (a single-run backfill): each day gets its own counts
    per_partition(context, {k: cleaning_report.day_metadata(rows.get(k, 0), replaced.get(k, Counter()))
                            for k in context.partition_keys})
    return dg.MaterializeResult(metadata={**cleaning_report.clean_metadata(result),
                                          **cleaning_report.purge_metadata(purge)})


@dg.asset_check(asset=clean_logs, blocking=True, partitions_def=daily, pool=DUCKDB_POOL,
                description="Re-scans every text of the window with an independent detector; any PII left fails.")
def no_pii_residue(context: dg.AssetCheckExecutionContext,
                   warehouse: WarehouseResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One result per day of the run (a range run included): that day's texts, scanned on their own,
    read a week of days per query (on a DuckLake each query pays catalog round trips)."""
    days = {window_dates(daily.time_window_for_partition_key(key))[0]: key for key in context.partition_keys}
    with warehouse.connect(read_only=True) as con:
        reports = {days[day]: report for day, report in residue_for_days(con, list(days)).items()}
    yield from check_per_partition(context, {
        key: dg.AssetCheckResult(passed=not report.residue, metadata=cleaning_report.residue_metadata(report))
        for key, report in reports.items()})
