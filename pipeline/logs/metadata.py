"""What an ingestion window and its contract check tell a person: metadata and markdown."""

from __future__ import annotations

from pipeline.logs.contracts import PartitionValidation
from pipeline.logs.ingest import WindowResult


def window_metadata(result: WindowResult) -> dict[str, object]:
    totals = result.totals
    rate = result.lines_read / result.seconds if result.seconds else 0.0
    days = result.partitions
    shown = days if len(days) <= 14 else days[:7] + days[-7:]
    rows = "\n".join(f"| {p.log_date} | {p.files} | {p.read:,} | {p.loaded:,} | {p.rejected:,} | {p.duplicates:,} |" for p in shown)
    preview = ("| day | files | read | loaded | rejected | duplicates |\n|---|---|---|---|---|---|\n" + rows
               + ("\n\n(first and last 7 days shown)" if len(days) > 14 else ""))
    return {
        "partitions": len(days),
        "read": totals["read"], "loaded": totals["loaded"],
        "rejected": totals["rejected"], "duplicates": totals["duplicates"],
        "reconciles": totals["read"] == totals["loaded"] + totals["rejected"] + totals["duplicates"],
        "files_read": result.files_read,
        "files_skipped_by_index": result.files_skipped_by_index,
        "unsupported_files": ", ".join(result.unsupported_files) or "none",
        "unreadable_files": "\n".join(f"{f}: {e}" for f, e in result.file_errors) or "none",
        "seconds": round(result.seconds, 2),
        "records_per_second": round(rate),
        "per_day": preview,
    }


def rejects_metadata(result: WindowResult) -> dict[str, object]:
    reasons = "\n".join(f"| {field or 'record'} | {n:,} |" for field, n in result.reject_reasons.items())
    sample = "\n".join(f"| {f} | {line} | {reason[:160]} |" for f, line, reason in result.reject_examples)
    return {
        "rejected": result.totals["rejected"],
        "by_field": "| field | rejects |\n|---|---|\n" + (reasons or "| (none) | 0 |"),
        "examples": "| file | line | reason |\n|---|---|---|\n" + (sample or "| | | no rejects |"),
    }


def contract_metadata(validations: list[PartitionValidation]) -> dict[str, object]:
    failed = [v for v in validations if not v.success]
    evaluated = sum(v.statistics.get("evaluated_expectations", 0) for v in validations)
    successful = sum(v.statistics.get("successful_expectations", 0) for v in validations)
    lines = []
    for v in failed[:20]:
        for o in v.failures:
            lines.append(f"| {v.partition} | {o.expectation} | {o.column} | {o.unexpected_count:,} | {', '.join(o.sample)[:120]} |")
    return {
        "partitions_validated": sum(v.days for v in validations),
        "partitions_failed": sum(v.days for v in failed),
        "validations_run": len(validations),  # one for the window; one per day when it fails
        "rows_validated": sum(v.rows for v in validations),
        "evaluated_expectations": int(evaluated),
        "successful_expectations": int(successful),
        "success_percent": round(100.0 * successful / evaluated, 2) if evaluated else 100.0,
        "failures": ("| partition | expectation | column | unexpected | sample |\n|---|---|---|---|---|\n" + "\n".join(lines))
        if lines else "none",
    }
