"""Ingestion: raw_logs and log_rejects per day, and the raw_logs contract check."""

from collections.abc import Iterator

import dagster as dg

from assets import check_per_partition, per_partition
from pipeline.logs import metadata as ingest_report
from pipeline.logs.contracts import validate_raw_logs_window
from pipeline.logs.ingest import ingest_window
from pipeline.metadata import table_metadata
from pipeline.partitions import daily, window_dates
from pipeline.progress import ProgressLog
from pipeline.resources import PiiResource, SourceResource, WarehouseResource

DUCKDB_POOL = "duckdb_writer"


@dg.multi_asset(
    specs=[
        dg.AssetSpec("raw_logs", description="Production log records that meet the input contract, one row per request, by day.",
                     kinds={"duckdb"}, group_name="ingest", partitions_def=daily, metadata=table_metadata("raw_logs")),
        dg.AssetSpec("log_rejects", description="Log records that break the contract, with file, line, field and reason.",
                     kinds={"duckdb"}, group_name="ingest", partitions_def=daily, metadata=table_metadata("log_rejects")),
    ],
    partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(), pool=DUCKDB_POOL, can_subset=False,
)
def ingested_logs(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                  pii: PiiResource):
    """Read logs/ for the window, type and validate every record, replace the window's rows."""
    start, end = window_dates(context.partition_time_window)
    anonymizer = pii.anonymizer()  # rejects are read by people: their text is scrubbed like clean_logs
    with warehouse.connect() as con:
        result = ingest_window(con, source.root(), start, end, progress=ProgressLog("ingest", context.log.info),
                               scrub=lambda frame, columns: anonymizer.scrub(frame, columns)[0])
    totals = result.totals
    context.log.info(f"ingested {start}..{end}: {totals}")
    for file, error in result.file_errors:
        context.log.warning(f"{file}: {error}")
    # one run may cover many days (a single-run backfill): each day gets its own counts
    days = {p.log_date.isoformat(): p for p in result.partitions}
    per_partition(context, {k: ingest_report.partition_metadata(days[k]) for k in context.partition_keys if k in days},
                  asset_key="raw_logs")
    per_partition(context, {k: ingest_report.partition_rejects_metadata(days[k]) for k in context.partition_keys
                            if k in days}, asset_key="log_rejects")
    yield dg.MaterializeResult(asset_key="raw_logs", metadata=ingest_report.window_metadata(result))
    yield dg.MaterializeResult(asset_key="log_rejects", metadata=ingest_report.rejects_metadata(result))


@dg.asset_check(asset="raw_logs", blocking=True, partitions_def=daily, pool=DUCKDB_POOL,
                description="Great Expectations suite on each loaded day: required fields, unique request_id, "
                            "timestamp inside the day, thumbs in {-1, 0, 1}, non-negative latency, tokens and cost.")
def raw_logs_contract(context: dg.AssetCheckExecutionContext,
                      warehouse: WarehouseResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One result per day of the run (a range run included), each with that day's own rows and failures."""
    start, end = window_dates(context.partition_time_window)
    with warehouse.connect(read_only=True) as con:
        validations = validate_raw_logs_window(con, start, end)
        rows = dict(con.execute("select strftime(log_date, '%Y-%m-%d'), count(*) from raw_logs "
                                "where log_date >= $s and log_date < $e group by 1", {"s": start, "e": end}).fetchall())
    days = ingest_report.contract_day_results(validations, rows, list(context.partition_keys))
    yield from check_per_partition(context, {day: dg.AssetCheckResult(passed=passed, metadata=meta)
                                             for day, (passed, meta) in days.items()})
