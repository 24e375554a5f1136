"""Dagster metadata for the experiment assets: counts, issues and markdown previews."""

from __future__ import annotations

from pipeline.experiments.analysis import UserMetricsRun


def _fmt(v, spec: str = ".4g") -> str:
    return "" if v is None else format(v, spec)


def user_metrics_metadata(run: UserMetricsRun, rejects: list[tuple[str, str]]) -> dict:
    issues = "\n".join(f"| {k} | {v:,} |" for k, v in sorted(run.issues.items())) or "| none | 0 |"
    meta = {"dagster/row_count": run.rows, "users": run.users, "assignment_files": run.assignment_files,
            "event_files": run.event_files, "assignment_issues": "| issue | users |\n|---|---|\n" + issues}
    if rejects:
        meta["rejected_experiment_files"] = "\n".join(f"- {problem}" for _, problem in rejects)
    if run.event_rejects:
        meta["event_rejects"] = "| problem | events |\n|---|---|\n" + "\n".join(
            f"| {k} | {v:,} |" for k, v in run.event_rejects.items())
    if run.unreadable_files:
        meta["unreadable_files"] = "\n".join(f"- {path}: {problem}" for path, problem in run.unreadable_files)
    return meta


def results_metadata(results: list[dict], summaries: list[dict]) -> dict:
    lines = [f"| {s['experiment_id']} | {s['decision']} | {s['users']:,} | {_fmt(s['srm_p_value'], '.2g')} | {s['reason']} |"
             for s in summaries]
    main = [r for r in results if r["analysis"] in ("overall", "sequential")]
    effects = [f"| {r['experiment_id']} | {r['variant']} | {r['metric']} ({r['role']}) | {_fmt(r['diff'])} "
               f"[{_fmt(r['diff_ci_low'])}, {_fmt(r['diff_ci_high'])}] | {_fmt(r['rel_diff'], '+.1%')} | "
               f"{_fmt(r['p_value_holm'] if r['p_value_holm'] is not None else r['p_value'], '.3g')} | "
               f"{'' if r['ni_passed'] is None else ('pass' if r['ni_passed'] else 'not shown')} | {r['reason'] or ''} |"
               for r in main]
    return {"dagster/row_count": len(results), "experiments": len(summaries),
            "decisions": "| experiment | decision | users | SRM p | why |\n|---|---|---|---|---|\n" + "\n".join(lines),
            "effects": "| experiment | variant | metric | diff [CI] | relative | p (Holm) | non-inferiority | note |\n"
                       "|---|---|---|---|---|---|---|---|\n" + "\n".join(effects),
            "cuped_variance_reduction": {f"{r['experiment_id']}/{r['variant']}/{r['metric']}": round(r["variance_reduction"], 4)
                                         for r in results if r["analysis"] == "cuped"}}
