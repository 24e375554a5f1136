"""user_metrics in DuckDB, then experiment_results and experiment_summary from moments.

Decision rule (per experiment; every treatment against the control):
- invalid: the SRM test against the pre-registered allocation gives p < 0.001, or no users;
  results are still written, flagged `srm_invalid`, and no decision is drawn from them.
- ship: some treatment has at least one primary metric significantly better after Holm's
  correction across its pre-registered primary metrics (one that cannot be tested counts as
  p = 1), none significantly worse, and every guardrail passes its non-inferiority test. With several such treatments, the one with the largest chance to
  win on its first primary metric is named.
- do not ship: every treatment has a primary metric significantly worse, or a guardrail whose
  interval lies entirely beyond its margin (significant harm).
- inconclusive: anything else (not enough evidence either way).
Sequential experiments use the always-valid intervals and p-values for all of this.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.experiments.registry import ExperimentSpec, MetricSpec
from pipeline.experiments.sources import register_source
from pipeline.experiments.stats import (
    Moments,
    arm_estimate,
    compare,
    cuped_estimate,
    cuped_theta,
    heterogeneity,
    holm,
    non_inferiority,
    power_analysis,
    srm_p_value,
)
from pipeline.warehouse import insert_rows, statement

SRM_THRESHOLD = 0.001
REBUILT = ("experiment_users", "user_metrics", "user_segments", "assignment_issues", "event_rejects")


@dataclass(frozen=True)
class UserMetricsRun:
    assignment_files: int
    event_files: int
    users: int
    rows: int
    issues: dict[str, int]
    seconds: dict[str, float]  # per SQL step
    unreadable_files: list[tuple[str, str]] = field(default_factory=list)  # skipped, with why
    event_rejects: dict[str, int] = field(default_factory=dict)  # problem -> event rows kept in event_rejects


def _register(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict], schema: dict) -> None:
    con.register(name, pl.DataFrame(rows, schema=schema, orient="row").to_arrow())


def register_specs(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec]) -> None:
    """The pre-registrations as relations the SQL joins against."""
    _register(con, "exp_specs", [{"experiment_id": s.experiment_id, "start_date": s.start, "end_date": s.end,
                                  "pre_days": s.pre_period_days, "control": s.control} for s in specs],
              {"experiment_id": pl.String, "start_date": pl.Date, "end_date": pl.Date, "pre_days": pl.Int32,
               "control": pl.String})
    _register(con, "exp_variants", [{"experiment_id": s.experiment_id, "variant": v} for s in specs for v in s.variants],
              {"experiment_id": pl.String, "variant": pl.String})
    _register(con, "exp_metrics", [
        {"experiment_id": s.experiment_id, "metric": m, "kind": metrics[m].kind, "event": metrics[m].event,
         "denominator": metrics[m].denominator, "window_days": metrics[m].window_days}
        for s in specs for m in s.metrics if metrics[m].kind != "log"],
        {"experiment_id": pl.String, "metric": pl.String, "kind": pl.String, "event": pl.String,
         "denominator": pl.String, "window_days": pl.Int32})
    _register(con, "exp_log_metrics", [{"experiment_id": s.experiment_id, "metric": m} for s in specs for m in s.metrics
                                       if metrics[m].kind == "log"], {"experiment_id": pl.String, "metric": pl.String})
    _register(con, "exp_segments", [{"experiment_id": s.experiment_id, "dimension": d} for s in specs for d in s.segments],
              {"experiment_id": pl.String, "dimension": pl.String})


def build_user_metrics(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec],
                       source: Path, hmac_pads: dict[str, bytes], log=lambda message: None) -> UserMetricsRun:
    """Rebuild experiment_users, user_metrics, user_segments, assignment_issues and event_rejects."""
    register_specs(con, specs, metrics)
    n_assign, bad_assign = register_source(con, "assignments", source / "assignments")
    n_events, bad_events = register_source(con, "events", source / "events")
    log(f"user_metrics: {len(specs)} experiment(s), {n_assign} assignment file(s), {n_events} event file(s)")
    unreadable = [(str(Path(path).relative_to(source)) if Path(path).is_relative_to(source) else path, problem)
                  for path, problem in bad_assign + bad_events]
    timings: dict[str, float] = {}

    def step(name: str, params: dict | None = None) -> None:
        t0 = time.perf_counter()
        con.execute(statement(f"experiments/{name}"), params or {})
        timings[name] = round(time.perf_counter() - t0, 3)

    con.execute("begin")
    try:
        for table in REBUILT:
            con.execute(f"delete from {table}")  # noqa: S608  (constant table names)
        step("assigned")
        step("experiment_users_raw", hmac_pads)
        step("assignment_issues")
        insert_rows(con, "insert into assignment_issues values ('?', 'unreadable_file', 0, ?)",
                    [(f"{path}: {problem}",) for path, problem in unreadable])
        step("insert_experiment_users")
        step("event_rejects")
        users = con.execute("select count(*) from experiment_users_raw").fetchone()[0]
        log(f"user_metrics: {users:,} users assigned; computing event metrics")
        step("event_metrics")
        log("user_metrics: event metrics done; computing log metrics and segments")
        step("log_metrics")
        step("user_segments")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    rows = con.execute("select count(*) from user_metrics").fetchone()[0]
    issues = dict(con.execute("select issue, sum(users)::bigint from assignment_issues group by issue").fetchall())
    rejects = dict(con.execute("select problem, count(*) from event_rejects group by problem order by 2 desc").fetchall())
    return UserMetricsRun(n_assign, n_events, users, rows, issues, timings, unreadable, rejects)


MomentsByGroup = dict[tuple[str, str], dict[tuple[str | None, str | None], dict[str, Moments]]]


def load_moments(con: duckdb.DuckDBPyConnection) -> MomentsByGroup:
    """(experiment, metric) -> (dimension, segment) -> {variant: Moments}, from DuckDB's
    aggregation; (None, None) is the whole experiment, segments follow in SQL order."""
    out: MomentsByGroup = defaultdict(lambda: defaultdict(dict))
    cursor = con.execute(statement("experiments/moments"))
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        r = dict(zip(names, row))
        out[(r["experiment_id"], r["metric"])][(r["dimension"], r["segment"])][r["variant"]] = Moments.from_record(r)
    return out


def _row(spec: ExperimentSpec, metric: MetricSpec, treatment: str, analysis: str, comp, *, dim=None, seg=None,
         srm_invalid: bool, now: dt.datetime, **extra) -> dict:
    row = {"experiment_id": spec.experiment_id, "metric": metric.name, "role": spec.role(metric.name),
           "variant": treatment, "control": spec.control, "analysis": analysis, "segment_dimension": dim,
           "segment_value": seg, "method": comp.method, "higher_is_better": metric.higher_is_better,
           "n_control": comp.n_control, "n_treatment": comp.n_treatment, "mean_control": comp.mean_control,
           "mean_treatment": comp.mean_treatment, "diff": comp.diff, "diff_ci_low": comp.diff_low,
           "diff_ci_high": comp.diff_high, "rel_diff": comp.rel, "rel_ci_low": comp.rel_low,
           "rel_ci_high": comp.rel_high, "p_value": comp.p_value, "p_value_holm": None, "significant": None,
           "chance_to_win": comp.chance_to_win, "expected_loss": comp.expected_loss, "variance_reduction": None,
           "ni_margin": None, "ni_p_value": None, "ni_passed": None, "heterogeneity_p": None,
           "achieved_mde_rel": None, "required_n_per_arm": None, "srm_invalid": srm_invalid,
           "reason": comp.reason, "analyzed_at": now, "excluded_values": 0}
    row.update(extra)
    return row


def analyze_experiment(spec: ExperimentSpec, metrics: dict[str, MetricSpec], moments: MomentsByGroup,
                       counts: dict[str, int], now: dt.datetime) -> tuple[list[dict], dict]:
    """Every result row of one experiment and its summary row."""
    srm_p = srm_p_value(counts, spec.variants) if sum(counts.values()) else None
    invalid = srm_p is not None and srm_p < SRM_THRESHOLD
    n_star = spec.n_star if spec.sequential else None
    rows: list[dict] = []
    verdicts: dict[str, dict] = {t: {"wins": [], "losses": [], "ni_fail": [], "harm": [], "ctw": None} for t in spec.treatments}
    for treatment in spec.treatments:
        primary_rows = []
        for name in spec.metrics:
            metric = metrics[name]
            groups = moments.get((spec.experiment_id, name), {})
            arms = groups.get((None, None), {})
            c_m, t_m = arms.get(spec.control, Moments(0, 0, 0)), arms.get(treatment, Moments(0, 0, 0))
            c_est, t_est = arm_estimate(c_m, metric.is_ratio), arm_estimate(t_m, metric.is_ratio)
            method = "delta-method ratio" if metric.is_ratio else "welch"
            main = compare(c_est, t_est, alpha=spec.alpha, higher_is_better=metric.higher_is_better,
                           welch=not metric.is_ratio, sequential_n_star=n_star,
                           method=f"{method}, sequential (N*={spec.n_star:g})" if n_star else method)
            extra = {}
            if spec.power is not None and main.reason is None:
                pw = power_analysis(c_est, t_est, alpha=spec.alpha, power=spec.power, target_rel=(spec.mde or {}).get(name))
                extra.update(achieved_mde_rel=pw.achieved_mde_rel, required_n_per_arm=pw.required_n_per_arm)
            guard = next((g for g in spec.guardrails if g.metric == name), None)
            if guard is not None:
                ni = non_inferiority(main, guard.margin, higher_is_better=metric.higher_is_better, alpha=spec.alpha,
                                     sequential_n_star=n_star)
                extra.update(ni_margin=guard.margin, ni_p_value=ni.p_value, ni_passed=ni.passed)
                if ni.passed is not True:
                    verdicts[treatment]["ni_fail"].append(name)
                if ni.harmful:
                    verdicts[treatment]["harm"].append(name)
            seg_rows = _segments(spec, metric, treatment, groups, n_star, invalid, now)
            extra["heterogeneity_p"] = segment_heterogeneity(seg_rows)
            extra["excluded_values"] = c_m.excluded + t_m.excluded
            row = _row(spec, metric, treatment, "sequential" if n_star else "overall", main, srm_invalid=invalid,
                       now=now, **extra)
            rows.append(row)
            if spec.role(name) == "primary":
                primary_rows.append(row)
                if verdicts[treatment]["ctw"] is None:
                    verdicts[treatment]["ctw"] = main.chance_to_win
            if main.reason is None:
                cup = cuped_theta([c_m, t_m], metric.is_ratio)
                if cup is not None:
                    adj = compare(cuped_estimate(c_m, cup, metric.is_ratio), cuped_estimate(t_m, cup, metric.is_ratio),
                                  alpha=spec.alpha, higher_is_better=metric.higher_is_better, welch=False,
                                  sequential_n_star=n_star,
                                  method=f"cuped{' (linearized ratio)' if metric.is_ratio else ''} (theta={cup.theta:.4g}"
                                         + (f"; {c_m.imputed + t_m.imputed} non-finite pre-period value(s) imputed "
                                            "by the mean" if c_m.imputed + t_m.imputed else "") + ")")
                    rows.append(_row(spec, metric, treatment, "cuped", adj, srm_invalid=invalid, now=now,
                                     variance_reduction=cup.variance_reduction,
                                     excluded_values=extra["excluded_values"]))
            rows.extend(seg_rows)
        # Holm across this treatment's pre-registered primary metrics; one that could not be tested
        # (an empty arm, zero variance) stays in the family with p = 1: dropping it would shrink the
        # correction and let the others through more easily
        adjusted_all = holm([r["p_value"] for r in primary_rows])
        for r, adjusted in zip(primary_rows, adjusted_all):
            if r["p_value"] is None:
                continue
            r["p_value_holm"] = adjusted
            r["significant"] = adjusted < spec.alpha
            better = (r["diff"] > 0) == r["higher_is_better"]
            if r["significant"]:
                verdicts[treatment]["wins" if better else "losses"].append(r["metric"])
    for r in rows:
        if r["significant"] is None and r["p_value"] is not None:
            r["significant"] = r["p_value"] < spec.alpha
    return rows, _summary(spec, counts, srm_p, invalid, verdicts, now)


def _segments(spec, metric, treatment, groups, n_star, invalid, now) -> list[dict]:
    out = []
    for (dim, seg), arms in groups.items():
        if dim is None:
            continue
        c_m, t_m = arms.get(spec.control, Moments(0, 0, 0)), arms.get(treatment, Moments(0, 0, 0))
        c, t = arm_estimate(c_m, metric.is_ratio), arm_estimate(t_m, metric.is_ratio)
        comp = compare(c, t, alpha=spec.alpha, higher_is_better=metric.higher_is_better, welch=not metric.is_ratio,
                       sequential_n_star=n_star, method="segment")
        out.append(_row(spec, metric, treatment, "segment", comp, dim=dim, seg=seg, srm_invalid=invalid, now=now,
                        excluded_values=c_m.excluded + t_m.excluded, _se=comp.se))
    return out


def segment_heterogeneity(seg_rows: list[dict]) -> float | None:
    """One Cochran's Q per segment dimension, written on that dimension's rows as heterogeneity_p;
    returns the smallest Holm-adjusted p across the dimensions (for the overall row). The
    dimensions partition the same users, so one Q over all of them at once double-counts them:
    it is conservative under the null and loses power against an effect in one dimension."""
    by_dimension: dict[str, list[dict]] = defaultdict(list)
    for r in seg_rows:
        by_dimension[r["segment_dimension"]].append(r)
    p_values = []
    for rows in by_dimension.values():
        het = heterogeneity([r["diff"] for r in rows], [r.pop("_se") for r in rows])
        for r in rows:
            r["heterogeneity_p"] = het.p_value if het else None
        if het:
            p_values.append(het.p_value)
    return min(holm(p_values)) if p_values else None


def _summary(spec, counts, srm_p, invalid, verdicts, now) -> dict:
    users = sum(counts.values())
    ship = [t for t, v in verdicts.items() if v["wins"] and not v["losses"] and not v["ni_fail"]]
    blocked = [t for t, v in verdicts.items() if v["losses"] or v["harm"]]
    if users == 0:
        decision, reason, variant = "invalid", "no analysable users", None
    elif invalid:
        decision, variant = "invalid", None
        reason = f"sample ratio mismatch: p = {srm_p:.2g} < {SRM_THRESHOLD} against the pre-registered allocation"
    elif ship:
        variant = max(ship, key=lambda t: verdicts[t]["ctw"] or 0)
        decision = "ship"
        reason = f"{variant}: better on {', '.join(verdicts[variant]['wins'])}; every guardrail non-inferior"
    elif len(blocked) == len(verdicts):
        decision, variant = "do not ship", None
        reason = "; ".join(f"{t}: " + ", ".join([*(f"{m} significantly worse" for m in v["losses"]),
                                                 *(f"{m} beyond its guardrail margin" for m in v["harm"])])
                           for t, v in verdicts.items())
    else:
        decision, variant = "inconclusive", None
        reason = "; ".join(f"{t}: " + (f"better on {', '.join(v['wins'])} but guardrail not shown non-inferior: "
                                       f"{', '.join(v['ni_fail'])}" if v["wins"] else "no primary metric significantly better")
                           for t, v in verdicts.items())
    return {"experiment_id": spec.experiment_id, "start_date": spec.start, "end_date": spec.end, "users": users,
            "users_per_variant": json.dumps(counts, sort_keys=True), "srm_p_value": srm_p, "srm_invalid": invalid,
            "excluded_users": 0, "decision": decision, "ship_variant": variant, "reason": reason, "analyzed_at": now}


def analyze(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec]
            ) -> tuple[list[dict], list[dict]]:
    """experiment_results and experiment_summary rows for every experiment (from moments only)."""
    now = dt.datetime.now(dt.timezone.utc)
    moments = load_moments(con)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for eid, variant, n in con.execute(statement("experiments/variant_counts")).fetchall():
        counts[eid][variant] = int(n)
    excluded = dict(con.execute(statement("experiments/excluded_users")).fetchall())
    results, summaries = [], []
    for spec in specs:
        rows, summary = analyze_experiment(spec, metrics, moments, {v: counts[spec.experiment_id].get(v, 0)
                                                                     for v in spec.variants}, now)
        summary["excluded_users"] = int(excluded.get(spec.experiment_id, 0))
        results += rows
        summaries.append(summary)
    return results, summaries


def write_results(con: duckdb.DuckDBPyConnection, results: list[dict], summaries: list[dict]) -> None:
    """Replace experiment_results and experiment_summary (one transaction)."""
    con.execute("begin")
    try:
        for table, rows in (("experiment_results", results), ("experiment_summary", summaries)):
            con.execute(f"delete from {table}")  # noqa: S608  (constant table names)
            if rows:
                columns = [c for c, *_ in con.execute(f"describe {table}").fetchall()]
                con.register("result_batch", pl.DataFrame(rows, infer_schema_length=None).select(columns).to_arrow())
                con.execute(f"insert into {table} select * from result_batch")  # noqa: S608
                con.unregister("result_batch")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise

