"""What clean_logs and its residue check tell a person: metadata for the Dagster UI."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from pipeline.metadata import records_table
from pipeline.privacy.cleaning import RETENTION_VAR, CleanResult, Purge, ResidueReport


def _type_table(counts: Counter | dict, header: str):
    rows = [{"type": kind, header: n} for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return records_table(rows, empty="none found")


def day_metadata(rows: int, replaced: Counter | dict) -> dict[str, object]:
    """clean_logs for one day: its rows and the PII values replaced in them."""
    return {"dagster/row_count": rows, "pii_replaced": sum(replaced.values()),
            "replaced_by_type": _type_table(replaced, "replaced")}


def _window(result: CleanResult) -> str:
    days = (result.end - result.start).days
    span = f"{result.start}" if days <= 1 else f"{result.start}..{result.end - timedelta(days=1)}"
    return f"{span} ({days} day{'s' if days != 1 else ''} in this run)"


def clean_metadata(result: CleanResult) -> dict[str, object]:
    """What the run as a whole did (the same on every day it materialized)."""
    return {
        "run_window": _window(result),
        "run_days_cleaned": result.days,
        "run_rows_cleaned": result.rows,
        "run_pii_replaced": sum(result.replaced.values()),
        "run_seconds": round(result.seconds, 2),
        "run_rows_per_second": round(result.rows / result.seconds) if result.seconds else 0,
        "run_days_kept_after_purge": result.kept_purged,
    }


def purge_metadata(purge: Purge) -> dict[str, object]:
    return {
        "raw_retention": (f"raw text kept until {purge.cutoff} ({RETENTION_VAR})" if purge.cutoff
                          else f"raw text kept forever ({RETENTION_VAR}=0)"),
        # what this run purged, from days before the cutoff (not from the days it cleaned)
        "run_raw_days_purged": purge.days,
        "run_raw_rows_purged": purge.raw_rows,
        "run_reject_rows_purged": purge.reject_rows,
    }


def residue_metadata(report: ResidueReport) -> dict[str, object]:
    return {
        "texts_scanned": report.texts,
        "residue_found": sum(report.residue.values()),
        "residue_by_type": _type_table(report.residue, "found after scrubbing"),
        "replaced_by_type": _type_table(report.replaced, "replaced"),
    }
