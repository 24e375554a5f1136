"""What judge_scores tells a person: metadata."""

from __future__ import annotations

from pipeline.judge_scores import ScoreRun


def score_metadata(run: ScoreRun, model: str) -> dict[str, object]:
    statuses = run.statuses
    summary = run.run.summary if run.run else None
    new = sum(summary.by_status.values()) if summary else 0
    judged = statuses.get("ok", 0) + statuses.get("parse_failed", 0)
    means = "\n".join(f"| {d} | {m} |" for d, m in run.dimension_means.items())
    rejects = "\n".join(f"| {f} | {line} | {reason} |" for f, line, reason in run.import_rejects[:20])
    return {
        "judge_model": model,
        "judge_version": run.judge_version,
        "items": run.items,
        "cache_hits": run.run.cache_hits if run.run else 0,
        "recovered_from_journal": run.run.recovered if run.run else 0,
        "new_judgments": new,
        "model_calls": summary.calls if summary else 0,
        "retries": summary.retries if summary else 0,
        "repaired": summary.repaired if summary else 0,
        "statuses": dict(statuses),
        "parse_failure_rate": round(statuses.get("parse_failed", 0) / judged, 4) if judged else 0.0,
        "cost_usd": round(summary.cost_usd, 6) if summary else 0.0,
        "seconds": round(summary.seconds, 2) if summary else 0.0,
        "mean_scores": "| dimension | mean |\n|---|---|\n" + means if means else "none",
        "imported_rows": run.imported,
        "import_rejects": ("| file | line | reason |\n|---|---|---|\n" + rejects) if rejects else "none",
    }
