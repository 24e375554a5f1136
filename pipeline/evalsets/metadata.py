"""What eval_set, its checks and regression_set tell a person: metadata."""

from __future__ import annotations

from pipeline.evalsets.versions import BuildResult, DriftReport, RegressionLoad


def _mix_table(left: dict[str, float], right: dict[str, float], names: tuple[str, str]) -> str:
    rows = "\n".join(f"| {k} | {left.get(k, 0):.3f} | {right.get(k, 0):.3f} |" for k in sorted(set(left) | set(right)))
    return f"| stratum | {names[0]} | {names[1]} |\n|---|---|---|\n{rows}"


def build_metadata(result: BuildResult) -> dict[str, object]:
    counts = "\n".join(f"| {k} | {n} |" for k, n in result.counts.items())
    return {
        "version_id": result.version_id,
        "parent_version": result.parent_version or "none",
        "new_version": result.new_version,
        "items": result.items,
        "counts": "| kind:group | items |\n|---|---|\n" + counts,
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
    """One build's metadata as it is; several quarters as a table, with the latest in full."""
    if len(results) == 1:
        return build_metadata(results[0])
    rows = "\n".join(f"| {r.quarter} | {r.version_id} | {r.parent_version or 'none'} | {r.items} | "
                     f"{r.changes.get('added', 0)} | {r.changes.get('removed', 0)} |" for r in results)
    return {"quarters": "| quarter | version | parent | items | added | removed |\n|---|---|---|---|---|---|\n" + rows,
            **{f"latest_{k}": v for k, v in build_metadata(results[-1]).items()}}


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
    changes = "\n".join(f"| {c} | {what} |" for c, what, _, _ in load.changes)
    rejects = "\n".join(f"| {line} | {reason} |" for line, reason in load.rejects)
    return {
        "cases": load.cases,
        "changes": ("| case | change |\n|---|---|\n" + changes) if changes else "none",
        "rejected": len(load.rejects),
        "rejects": ("| line | reason |\n|---|---|\n" + rejects) if rejects else "none",
    }
