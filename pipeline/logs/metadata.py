"""What an ingestion window and its contract check tell a person: metadata for the Dagster UI."""

from __future__ import annotations

from pipeline.logs.contracts import PartitionValidation
from pipeline.logs.ingest import PartitionCounts, WindowResult
from pipeline.metadata import md_list, records_table


def partition_metadata(p: PartitionCounts) -> dict[str, object]:
    """raw_logs for one day: that day's own counts (read = loaded + rejected + duplicates)."""
    return {"dagster/row_count": p.loaded, "files": p.files, "read": p.read, "loaded": p.loaded,
            "rejected": p.rejected, "duplicates": p.duplicates,
            "reconciles": p.read == p.loaded + p.rejected + p.duplicates}


def partition_rejects_metadata(p: PartitionCounts) -> dict[str, object]:
    """log_rejects for one day."""
    return {"dagster/row_count": p.rejected, "rejected": p.rejected}


def _window(result: WindowResult) -> str:
    days = len(result.partitions)
    last = result.partitions[-1].log_date if result.partitions else result.start
    span = f"{result.start}" if days <= 1 else f"{result.start}..{last}"
    return f"{span} ({days} day{'s' if days != 1 else ''} in this run)"


def window_metadata(result: WindowResult) -> dict[str, object]:
    """What the run as a whole did (the same on every day it materialized: run_ figures are the
    run's, never a day's)."""
    rate = result.lines_read / result.seconds if result.seconds else 0.0
    return {
        "run_window": _window(result),
        "run_files_read": result.files_read,
        "run_files_skipped_by_index": result.files_skipped_by_index,
        "run_files_skipped_by_scan": result.files_skipped_by_scan,
        # the run's files, not a day's: a file may hold many days, and an unreadable one none
        "run_unsupported_files": md_list(f"`{f}`" for f in result.unsupported_files),
        "run_unreadable_files": records_table([{"file": f, "error": e} for f, e in result.file_errors]),
        "run_seconds": round(result.seconds, 2),
        "run_records_per_second": round(rate),
    }


def rejects_metadata(result: WindowResult) -> dict[str, object]:
    """The run's rejects by field and a sample of them (the run's, not a day's)."""
    return {
        "run_window": _window(result),
        "run_rejects_by_field": records_table(
            [{"field": field or "record", "rejects": n} for field, n in result.reject_reasons.items()]),
        "run_reject_examples": records_table(
            [{"file": f, "line": line, "reason": reason[:160]} for f, line, reason in result.reject_examples]),
    }


def _failure_rows(validations: list[PartitionValidation]) -> list[dict[str, object]]:
    return [{"partition": v.partition, "expectation": o.expectation, "column": o.column,
             "unexpected": o.unexpected_count, "sample": ", ".join(map(str, o.sample))[:120],
             "request_ids": ", ".join(o.request_ids)[:160]}
            for v in validations[:20] for o in v.failures]


def contract_day_results(validations: list[PartitionValidation], rows_by_day: dict[str, int],
                         days: list[str]) -> dict[str, tuple[bool, dict[str, object]]]:
    """Each day's own contract result (passed, metadata).

    `validate_raw_logs_window` evaluates the suite once over the run's window, grouped by day, so
    every day with rows has its own validation. A day without rows has nothing to break.
    `rows_by_day` counts raw_logs rows per day key, independently of the validation."""
    own = {v.partition: v for v in validations}
    failed_days = [d for d in days if d in own and not own[d].success]
    span = days[0] if len(days) <= 1 else f"{days[0]}..{days[-1]}"
    run = {"run_window": f"{span} ({len(days)} day{'s' if len(days) != 1 else ''} in this run)",
           "run_days_failed": len(failed_days)}
    out = {}
    for day in days:
        rows = rows_by_day.get(day, 0)
        v = own.get(day)
        if v is None:
            if rows:  # rows the validation did not see: a bug, not a pass
                raise ValueError(f"raw_logs contract: {day} has {rows} rows but no validation of its own")
            passed, evaluated, successful, how = True, 0, 0, "no rows loaded for this day: nothing to validate"
        else:
            if v.rows != rows:
                raise ValueError(f"raw_logs contract: {day} has {rows} rows but {v.rows} were validated")
            passed = v.success
            evaluated = int(v.statistics.get("evaluated_expectations", 0))
            successful = int(v.statistics.get("successful_expectations", 0))
            how = "in one pass over the run's window, grouped by day (DuckDB)"
        out[day] = (passed, {
            "rows_validated": rows,
            "evaluated_expectations": evaluated,
            "successful_expectations": successful,
            "success_percent": round(100.0 * successful / evaluated, 2) if evaluated else 100.0,
            "failures": records_table(_failure_rows([v]) if v is not None and not v.success else []),
            "validated": how,
            **run,
        })
    return out


def contract_metadata(validations: list[PartitionValidation]) -> dict[str, object]:
    failed = [v for v in validations if not v.success]
    evaluated = sum(v.statistics.get("evaluated_expectations", 0) for v in validations)
    successful = sum(v.statistics.get("successful_expectations", 0) for v in validations)
    rows = _failure_rows(failed)
    return {
        "partitions_validated": sum(v.days for v in validations),
        "partitions_failed": sum(v.days for v in failed),
        "rows_validated": sum(v.rows for v in validations),
        "evaluated_expectations": int(evaluated),
        "successful_expectations": int(successful),
        "success_percent": round(100.0 * successful / evaluated, 2) if evaluated else 100.0,
        "failures": records_table(rows),
    }
