"""offline_online and offline_online_correlation: did the judge predict what users did?

offline_online (per quarter, for experiments that ended in it): per experiment, treatment,
judge version and dimension, the judge delta (treatment minus control mean score on the
experiment's sampled responses, with a 95% interval clustered by user, null with a logged reason
when an arm has a single user or there are two responses) joined in DuckDB with the online
effect of every metric (the main row of experiment_results). `online_better` is the relative
difference signed so that positive is better for users.

offline_online_correlation (per quarter, over every pair to date; SRM-invalid experiments never
count): per judge version, dimension and metric, Pearson, Spearman and Kendall with bootstrap
CIs over the pairs, sign agreement (the judge-preferred variant did better online), the line
online_better ~ judge_delta that forecasts use, and status: insufficient (fewer than 5 pairs),
predictive (Spearman at least 0.6) or weak. The mismatches are the pairs where the judge and the
users disagree in sign with both effects significant, the largest first (by the product of the
two standardized effects).
Request-level rows (kind `request`): the AUC of a low judge score for predicting thumbs-down
(among rated responses) and regeneration on logged responses, with a bootstrap CI; predictive
when the AUC is at least 0.6, insufficient under 50 responses or 10 of either class.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import duckdb
import numpy as np
import polars as pl

from pipeline.calibration.agreement import bootstrap
from pipeline.calibration.correlation import auc, clustered_difference, correlations, fit_line
from pipeline.warehouse import retrying, statement

MIN_PAIRS = 5
PREDICTIVE = 0.6
MIN_REQUESTS, MIN_CLASS = 50, 10
MISMATCHES = 3


def judge_deltas(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date,
                 log=lambda message: None) -> list[dict]:
    """Judge delta per (experiment, treatment, judge version, dimension) for experiments ending in [start, end).
    A delta whose clustered interval is undefined (too few responses or users, see
    `clustered_difference`) keeps its point estimate with a null interval, and `log` says why."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    controls = {}
    for eid, control, variant, user, version, dimension, score in con.execute(
            statement("calibration/sample_scores"), {"start": start, "end": end}).fetchall():
        groups[(eid, version, dimension)].append((variant, user, score))
        controls[eid] = control
    out = []
    for (eid, version, dimension), rows in sorted(groups.items()):
        control = controls[eid]
        for treatment in sorted({v for v, _, _ in rows} - {control}):
            kept = [(v == treatment, u, s) for v, u, s in rows if v in (control, treatment)]
            d = clustered_difference(np.array([s for _, _, s in kept]), np.array([t for t, _, _ in kept]),
                                     np.array([u for _, u, _ in kept]))
            if d.reason:
                log(f"offline_online: {eid}/{treatment} {version} {dimension}: no judge interval ({d.reason})")
            out.append({"experiment_id": eid, "variant": treatment, "judge_version": version, "dimension": dimension,
                        "n_control": d.n_control, "n_treatment": d.n_treatment, "clusters": d.clusters,
                        "judge_delta": _num(d.diff), "judge_ci_low": _num(d.low), "judge_ci_high": _num(d.high)})
    return out


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


DELTA_SCHEMA = {"experiment_id": pl.String, "variant": pl.String, "judge_version": pl.String, "dimension": pl.String,
                "n_control": pl.Int64, "n_treatment": pl.Int64, "clusters": pl.Int64, "judge_delta": pl.Float64,
                "judge_ci_low": pl.Float64, "judge_ci_high": pl.Float64}


def build_offline_online(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date,
                         log=lambda message: None) -> int:
    """Replace the quarter's offline_online rows; returns how many were written."""
    deltas = judge_deltas(con, start, end, log)

    def write() -> None:
        con.execute("delete from offline_online where quarter = $q", {"q": start})
        con.execute(statement("calibration/insert_offline_online"), {"quarter": start})

    con.register("judge_deltas", pl.DataFrame(deltas, schema=DELTA_SCHEMA).to_arrow())
    try:
        retrying(con, write, f"offline_online {start}")
    finally:
        con.unregister("judge_deltas")
    return con.execute("select count(*) from offline_online where quarter = $q", {"q": start}).fetchone()[0]


def experiment_counts(con: duckdb.DuckDBPyConnection, quarters: list[dt.date]) -> tuple[int, int]:
    """(experiments, SRM-invalid experiments) in offline_online for these quarters."""
    return con.execute("select count(distinct experiment_id), count(distinct experiment_id) filter (srm_invalid) "
                       "from offline_online where list_contains($q, quarter)", {"q": quarters}).fetchone()


def mismatches(pairs: list[tuple[str, str, float, float, bool]], metric: str, limit: int = MISMATCHES) -> list[str]:
    """Pairs (experiment, variant, judge delta, online_better, both significant) where the judge
    and the users disagree in sign and both effects are significant (the judge's clustered
    interval excludes zero, the online test rejects), the largest disagreement (product of the
    standardized effects) first."""
    x = np.array([p[2] for p in pairs])
    y = np.array([p[3] for p in pairs])
    sx, sy = x.std() or 1.0, y.std() or 1.0
    scored = [(x_i / sx * y_i / sy, p) for x_i, y_i, p in zip(x, y, pairs) if x_i * y_i < 0 and p[4]]
    return [f"{eid}/{variant}: judge {jd:+.2f} points, users {'better' if ob > 0 else 'worse'} by {abs(ob):.1%} on {metric}"
            for _, (eid, variant, jd, ob, _) in sorted(scored, key=lambda t: t[0])[:limit]]


def experiment_rows(con: duckdb.DuckDBPyConnection, end: dt.date, resamples: int) -> list[dict]:
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for version, dimension, metric, eid, variant, jd, ob, significant in con.execute(
            statement("calibration/correlation_pairs"), {"end": end}).fetchall():
        groups[(version, dimension, metric)].append((eid, variant, jd, ob, significant))
    out = []
    for (version, dimension, metric), pairs in sorted(groups.items()):
        x = np.array([p[2] for p in pairs])
        y = np.array([p[3] for p in pairs])
        row = {"judge_version": version, "kind": "experiment", "dimension": dimension, "metric": metric, "n": len(pairs)}
        for name, ci in correlations(x, y, resamples=resamples).items():
            row.update({name: _num(ci.estimate), f"{name}_ci_low": _num(ci.low), f"{name}_ci_high": _num(ci.high)})
        signs = [(a > 0) == (b > 0) for a, b in zip(x, y) if a != 0 and b != 0]
        row["sign_agreement"] = float(np.mean(signs)) if signs else None
        fit = fit_line(x, y)
        if fit:
            row.update(slope=fit.slope, intercept=fit.intercept, residual_sd=fit.residual_sd)
        rho = row["spearman"]
        row["status"] = ("insufficient" if len(pairs) < MIN_PAIRS else
                         "predictive" if rho is not None and rho >= PREDICTIVE else "weak")
        row["mismatches"] = mismatches(pairs, metric)
        out.append(row)
    return out


def request_rows(con: duckdb.DuckDBPyConnection, end: dt.date, resamples: int) -> list[dict]:
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for version, dimension, score, thumbs, regenerated in con.execute(
            statement("calibration/request_outcomes"), {"end": end}).fetchall():
        groups[(version, dimension)].append((score, thumbs, regenerated))
    out = []
    for (version, dimension), rows in sorted(groups.items()):
        for outcome in ("thumbs_down", "regenerated"):
            if outcome == "thumbs_down":
                kept = [(s, t == -1) for s, t, _ in rows if t is not None]
            else:
                kept = [(s, bool(r)) for s, _, r in rows]
            score = -np.array([s for s, _ in kept], dtype=float)  # a low score predicts the bad outcome
            hit = np.array([o for _, o in kept], dtype=bool)
            ci = bootstrap(len(kept), lambda idx: auc(score[idx], hit[idx]), resamples=resamples)
            enough = len(kept) >= MIN_REQUESTS and min(hit.sum(), (~hit).sum()) >= MIN_CLASS
            out.append({"judge_version": version, "kind": "request", "dimension": dimension, "metric": outcome,
                        "n": len(kept), "auc": _num(ci.estimate), "auc_ci_low": _num(ci.low), "auc_ci_high": _num(ci.high),
                        "status": "insufficient" if not enough else
                        ("predictive" if ci.estimate >= PREDICTIVE else "weak"), "mismatches": []})
    return out


def correlation_rows(con: duckdb.DuckDBPyConnection, end: dt.date, *, resamples: int = 1000) -> list[dict]:
    """Every offline_online_correlation row over data before `end`."""
    return experiment_rows(con, end, resamples) + request_rows(con, end, resamples)


COLUMNS = ("quarter", "judge_version", "kind", "dimension", "metric", "n", "pearson", "pearson_ci_low",
           "pearson_ci_high", "spearman", "spearman_ci_low", "spearman_ci_high", "kendall", "kendall_ci_low",
           "kendall_ci_high", "sign_agreement", "auc", "auc_ci_low", "auc_ci_high", "slope", "intercept",
           "residual_sd", "status", "mismatches")


def store_correlation(con: duckdb.DuckDBPyConnection, quarter: dt.date, rows: list[dict]) -> None:
    """Replace the quarter's rows, in one transaction (retried on a conflicting commit)."""
    def write() -> None:
        con.execute("delete from offline_online_correlation where quarter = $q", {"q": quarter})
        if rows:
            con.executemany(f"insert into offline_online_correlation ({', '.join(COLUMNS)}, computed_at) "
                            f"values ({', '.join('?' for _ in COLUMNS)}, now())",
                            [[quarter if c == "quarter" else r.get(c) for c in COLUMNS] for r in rows])

    retrying(con, write, f"offline_online_correlation {quarter}")


def correlation_table(rows: list[dict], limit: int = 40) -> list[dict]:
    """A preview of correlation rows, for a table in the asset's metadata."""
    def fmt(v):
        return None if v is None else round(float(v), 2)
    return [{"kind": r["kind"], "dimension": r["dimension"], "metric": r["metric"], "n": r["n"],
             "spearman": fmt(r.get("spearman")), "sign agreement": fmt(r.get("sign_agreement")), "AUC": fmt(r.get("auc")),
             "status": r["status"]} for r in rows[:limit]]
