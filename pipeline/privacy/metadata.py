"""What clean_logs and its residue check tell a person: metadata."""

from __future__ import annotations

from collections import Counter

from pipeline.privacy.cleaning import RETENTION_VAR, CleanResult, Purge, ResidueReport


def _type_table(counts: Counter | dict, header: str) -> str:
    rows = "\n".join(f"| {kind} | {n:,} |" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"| type | {header} |\n|---|---|\n" + (rows or "| (none) | 0 |")


def clean_metadata(result: CleanResult) -> dict[str, object]:
    return {
        "days": result.days,
        "rows": result.rows,
        "pii_replaced": sum(result.replaced.values()),
        "replaced_by_type": _type_table(result.replaced, "replaced"),
        "seconds": round(result.seconds, 2),
        "rows_per_second": round(result.rows / result.seconds) if result.seconds else 0,
        "days_kept_after_purge": result.kept_purged,
    }


def purge_metadata(purge: Purge) -> dict[str, object]:
    return {
        "raw_retention": (f"raw text kept until {purge.cutoff} ({RETENTION_VAR})" if purge.cutoff
                          else f"raw text kept forever ({RETENTION_VAR}=0)"),
        "raw_days_purged": purge.days,
        "raw_rows_purged": purge.raw_rows,
        "reject_rows_purged": purge.reject_rows,
    }


def residue_metadata(report: ResidueReport) -> dict[str, object]:
    return {
        "texts_scanned": report.texts,
        "residue_found": sum(report.residue.values()),
        "residue_by_type": _type_table(report.residue, "found after scrubbing"),
        "replaced_by_type": _type_table(report.replaced, "replaced"),
    }
