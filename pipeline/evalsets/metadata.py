"""What eval_set, its checks and regression_set tell a person: metadata for the Dagster UI."""

from __future__ import annotations

from pipeline.evalsets.versions import BuildResult, DriftReport, RegressionLoad
from pipeline.metadata import records_table


def _mix_table(left: dict[str, float], right: dict[str, float], names: tuple[str, str]):
    return records_table([{"stratum": k, names[0]: round(left.get(k, 0), 3), names[1]: round(right.get(k, 0), 3)}
                          for k in sorted(set(left) | set(right))])


def build_metadata(result: BuildResult) -> dict[str, object]:
    """One quarter's build: what its eval_set partition holds."""
    return {
        "dagster/row_count": result.items,
        "version_id": result.version_id,
        "parent_version": result.parent_version or "none",
        "new_version": result.new_version,
        "items": result.items,
        "counts": records_table([{"kind": k.partition(":")[0], "group": k.partition(":")[2], "items": n}
                                 for k, n in result.counts.items()]),
        "mix": _mix_table(result.eval_mix, result.production_mix, ("eval set head", "production")),
        "shortfall": ", ".join(f"{k} {n}" for k, n in result.shortfall.items()) or "none",
        "taken_for_other_groups": ", ".join(f"{k} {n}" for k, n in result.moved.items()) or "none",
        "added": result.changes.get("added", 0),
        "removed": result.changes.get("removed", 0),
        "skipped_near_duplicates": result.skipped_near_duplicates,
        "skipped_regression_matches": result.skipped_regression,
        "ner_backend": "none (names caught after cue words only)" if result.ner_names_replaced is None else "presidio",
        "ner_names_replaced": result.ner_names_replaced if result.ner_names_replaced is not None else 0,
    }


def builds_metadata(results: list[BuildResult]) -> dict[str, object]:
    """What a run over several quarters built, as one table (each quarter's partition carries its
    own build_metadata); nothing for a run of one quarter."""
    if len(results) <= 1:
        return {}
    return {"run_quarters": records_table([
        {"quarter": r.quarter, "version": r.version_id, "parent": r.parent_version or "none", "items": r.items,
         "added": r.changes.get("added", 0), "removed": r.changes.get("removed", 0)} for r in results])}


def drift_metadata(report: DriftReport, threshold: float) -> dict[str, object]:
    return {
        "total_variation_distance": round(report.tvd, 4),
        "threshold": threshold,
        "production_window": f"{report.production_window[0]}..{report.production_window[1]}",
        "mixes": _mix_table(report.eval_mix, report.production_mix, ("eval set head", "production now")),
        "advice": "rebuild the eval set: production has moved away from it" if report.tvd > threshold
        else "the eval set still matches production",
    }


def regression_metadata(load: RegressionLoad) -> dict[str, object]:
    return {
        "dagster/row_count": load.cases,
        "cases": load.cases,
        "changes": records_table([{"case": c, "change": what} for c, what, _, _ in load.changes]),
        "rejected": len(load.rejects),
        "rejects": records_table([{"line": line, "reason": reason} for line, reason in load.rejects]),
    }
