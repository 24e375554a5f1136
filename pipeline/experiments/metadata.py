"""Dagster metadata for the experiment assets: counts, issues and tables for the UI."""

from __future__ import annotations

from pipeline.experiments.analysis import UserMetricsRun
from pipeline.metadata import md_list, records_table


def _num(v, digits: int = 4) -> float | None:
    """A figure rounded to `digits` significant digits (None stays None)."""
    return None if v is None else float(format(v, f".{digits}g"))


def _fmt(v, spec: str = ".4g") -> str:
    return "" if v is None else format(v, spec)


def user_metrics_metadata(run: UserMetricsRun, rejects: list[tuple[str, str]]) -> dict:
    meta = {"dagster/row_count": run.rows, "users": run.users, "assignment_files": run.assignment_files,
            "event_files": run.event_files,
            "assignment_issues": records_table([{"issue": k, "users": v} for k, v in sorted(run.issues.items())],
                                               empty="none")}
    if rejects:
        meta["rejected_experiment_files"] = md_list(problem for _, problem in rejects)
    if run.event_rejects:
        meta["event_rejects"] = records_table([{"problem": k, "events": v} for k, v in run.event_rejects.items()])
    if run.unreadable_files:
        meta["unreadable_files"] = records_table([{"file": path, "problem": problem}
                                                  for path, problem in run.unreadable_files])
    return meta


def results_metadata(results: list[dict], summaries: list[dict]) -> dict:
    decisions = [{"experiment": s["experiment_id"], "decision": s["decision"], "users": s["users"],
                  "SRM p": _num(s["srm_p_value"], 2), "why": s["reason"]} for s in summaries]
    main = [r for r in results if r["analysis"] in ("overall", "sequential")]
    effects = [{"experiment": r["experiment_id"], "variant": r["variant"], "metric": r["metric"], "role": r["role"],
                "diff": _num(r["diff"]),
                "95% CI": "" if r["diff_ci_low"] is None else f"[{_fmt(r['diff_ci_low'])}, {_fmt(r['diff_ci_high'])}]",
                "relative": _fmt(r["rel_diff"], "+.1%"),
                "p (Holm)": _num(r["p_value_holm"] if r["p_value_holm"] is not None else r["p_value"], 3),
                "non-inferiority": "" if r["ni_passed"] is None else ("pass" if r["ni_passed"] else "not shown"),
                "note": r["reason"] or ""} for r in main]
    return {"dagster/row_count": len(results), "experiments": len(summaries),
            "decisions": records_table(decisions, empty="no experiments"),
            "effects": records_table(effects, empty="no effects"),
            "cuped_variance_reduction": {f"{r['experiment_id']}/{r['variant']}/{r['metric']}": round(r["variance_reduction"], 4)
                                         for r in results if r["analysis"] == "cuped"}}
