"""calibration_forecast: what would a candidate that has only offline scores do online?

Each candidate response is scored pointwise by the current judge (candidate_scores). A candidate's judge delta per
dimension is its mean paired difference from the baseline on the items both answered, with a
t interval. Through the latest quarter's calibration fit (online_better ~ judge_delta, across
experiment pairs, offline_online_correlation), the delta becomes a predicted online effect
(relative, signed so that positive is better for users) with a 95% prediction interval, which
carries the fit's residual spread: a weak fit gives a wide interval. The sample size is the
users per arm that a two-sided test at alpha 0.05 with 80% power needs to detect the predicted
effect, using the control arm of the latest valid experiment on that metric for the mean and
the per-user variance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import duckdb
import numpy as np

from pipeline.calibration.correlation import Fit, sample_size_per_arm
from pipeline.experiments.stats import Moments, arm_estimate
from pipeline.warehouse import statement


def paired_delta(candidate: dict[str, int], baseline: dict[str, int]) -> tuple[int, float, float, float]:
    """(items, mean difference, 95% t interval) over the items both were scored on."""
    from scipy import stats
    common = sorted(set(candidate) & set(baseline))
    diff = np.array([candidate[i] - baseline[i] for i in common], dtype=float)
    if len(diff) < 2:
        mean = float(diff.mean()) if len(diff) else math.nan
        return len(diff), mean, math.nan, math.nan
    if np.all(diff == diff[0]):
        return len(diff), float(diff[0]), float(diff[0]), float(diff[0])
    ci = stats.ttest_1samp(diff, 0.0).confidence_interval(0.95)
    return len(diff), float(diff.mean()), float(ci.low), float(ci.high)


def forecast_rows(con: duckdb.DuckDBPyConnection, version: str, scores: dict[tuple[str, str], dict[str, int]],
                  baseline: str, metrics: dict) -> list[dict]:
    """Every (candidate, dimension, metric) forecast for which a fit exists for `version`."""
    quarter = con.execute("select max(quarter) from offline_online_correlation").fetchone()[0]
    if quarter is None:
        return []
    end = (quarter.replace(day=1) + dt.timedelta(days=95)).replace(day=1)  # the quarter's end
    # the fit's x mean and spread (for the prediction interval) come from the pairs it was fitted on
    pairs = defaultdict(list)
    for v, d, m, _, _, jd, _, _ in con.execute(statement("calibration/correlation_pairs"), {"end": end}).fetchall():
        if v == version:
            pairs[(d, m)].append(jd)
    fits = {}
    for v, d, m, n, slope, intercept, sd, status in con.execute(statement("calibration/latest_fits"),
                                                                {"quarter": quarter}).fetchall():
        x = np.array(pairs[(d, m)], dtype=float)
        if v == version and len(x) == n:
            fits[(d, m)] = (Fit(n, intercept, slope, sd, float(x.mean()), float(((x - x.mean()) ** 2).sum())), status, n)
    cursor = con.execute(statement("calibration/metric_reference"))
    names = [d[0] for d in cursor.description]
    reference = {r["metric"]: (r["experiment_id"], r["mean_control"], Moments.from_record(r))
                 for r in (dict(zip(names, row)) for row in cursor.fetchall())}
    variants = sorted({v for v, _ in scores} - {baseline})
    out = []
    for variant in variants:
        for (dimension, metric), (fit, status, n_pairs) in sorted(fits.items()):
            base = scores.get((baseline, dimension))
            cand = scores.get((variant, dimension))
            if not base or not cand:
                continue
            n_items, delta, low, high = paired_delta(cand, base)
            predicted = fit.predict(delta)
            row = {"judge_version": version, "candidate": variant, "baseline": baseline, "dimension": dimension,
                   "n_items": n_items, "judge_delta": delta, "judge_ci_low": low, "judge_ci_high": high, "metric": metric,
                   "fit_status": status, "fit_pairs": n_pairs, "predicted_online_better": predicted.estimate,
                   "prediction_low": predicted.low, "prediction_high": predicted.high, "reference_experiment": None,
                   "control_mean": None, "unit_sd": None, "required_n_per_arm": None}
            if metric in reference and metric in metrics:
                eid, mean, control = reference[metric]
                unit = arm_estimate(control, metrics[metric].is_ratio).unit_var
                sd = math.sqrt(unit) if unit and not math.isnan(unit) else math.nan
                row.update(reference_experiment=eid, control_mean=mean, unit_sd=sd,
                           required_n_per_arm=sample_size_per_arm(abs(predicted.estimate * mean), sd))
            out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return out


COLUMNS = ("judge_version", "candidate", "baseline", "dimension", "n_items", "judge_delta", "judge_ci_low",
           "judge_ci_high", "metric", "fit_status", "fit_pairs", "predicted_online_better", "prediction_low",
           "prediction_high", "reference_experiment", "control_mean", "unit_sd", "required_n_per_arm")


def store_forecast(con: duckdb.DuckDBPyConnection, version: str, rows: list[dict]) -> None:
    con.execute("delete from calibration_forecast where judge_version = $v", {"v": version})
    if rows:
        con.executemany(f"insert into calibration_forecast ({', '.join(COLUMNS)}, computed_at) "
                        f"values ({', '.join('?' for _ in COLUMNS)}, now())", [[r[c] for c in COLUMNS] for r in rows])


def forecast_table(rows: list[dict], limit: int = 30) -> list[dict]:
    """A preview of forecast rows, for a table in the asset's metadata."""
    def pct(v):
        return "" if v is None else f"{v:+.1%}"
    return [{"candidate": r["candidate"], "dimension": r["dimension"],
             "judge delta": None if r["judge_delta"] is None else round(float(r["judge_delta"]), 2), "metric": r["metric"],
             "predicted (95% PI)":
                 f"{pct(r['predicted_online_better'])} ({pct(r['prediction_low'])}, {pct(r['prediction_high'])})",
             "users per arm": r["required_n_per_arm"], "fit": r["fit_status"]} for r in rows[:limit]]
