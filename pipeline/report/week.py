"""The report's first section, "This week": the decisions an ML lead acts on, in words.

Each line comes from a warehouse table and links to the report section with its evidence:
experiments (experiment_summary, experiment_results), judge versions (calibration_history),
offline-online mismatches (offline_online_correlation), the release gate per candidate
(pipeline.report.gate), forecasts for offline-only candidates (calibration_forecast) and
whether the eval set is due for a rebuild (its head mix against the last 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb

EVAL_SET_DRIFT = 0.1  # total variation distance above which the eval set is due for a rebuild (the check's default)


@dataclass(frozen=True)
class Line:
    what: str  # the subject: an experiment, a judge, a candidate
    verdict: str  # ship, do not ship, ok, recalibrate, ...
    detail: str  # why, in words
    target: str  # the id of the section with the evidence
    link: str  # the link's text
    tone: str = ""  # good, bad or "" (neutral)


@cache
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline.report", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **values) -> str:
    """A template of pipeline/report/templates, every value escaped unless marked safe."""
    return _environment().get_template(template).render(**values)


class JudgeLabels:
    """Judge versions as a person names them, model and rubric ("gpt-4o-2024-08-06 · rubric v1").

    One query per report: the sections name judges in many places (every drifted row)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._known = {v: (m, r) for v, m, r in con.execute(
            "select judge_version, any_value(judge_model), any_value(rubric_version) from judge_scores "
            "group by judge_version").fetchall()}

    def __call__(self, version: str) -> str:
        model, rubric = self._known.get(version, (None, None))
        if model is None and version.startswith("imported:"):
            model, _, rubric = version.removeprefix("imported:").rpartition(":")
        if model is None:
            return version
        rubric = (rubric or "").replace("rubric-", "rubric ")
        imported = " (imported)" if version.startswith("imported:") else ""
        return f"{model.removeprefix('openai/')} · {rubric}{imported}"


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = $t",
                            {"t": table}).fetchall()[0][0])


def experiment_lines(con: duckdb.DuckDBPyConnection) -> list[Line]:
    if not _exists(con, "experiment_summary"):
        return []
    lines = []
    for eid, decision, ship, reason in con.execute(
            "select experiment_id, decision, ship_variant, reason from experiment_summary order by experiment_id").fetchall():
        detail = reason
        if decision == "inconclusive":
            # the variant furthest from its pre-registered sample: required per arm minus its smaller arm
            need = con.execute(
                "select variant, required_n_per_arm, least(n_control, n_treatment) as n from experiment_results "
                "where experiment_id = $e and analysis = 'overall' and role = 'primary' and not significant "
                "and required_n_per_arm > least(n_control, n_treatment) "
                "order by required_n_per_arm - least(n_control, n_treatment) desc limit 1", {"e": eid}).fetchall()
            if need:
                variant, required, have = need[0]
                detail += (f"; {variant} needs about {required - have:,} more users per arm ({required:,} per arm) to "
                           "detect the pre-registered effect")
        verdict = {"ship": f"ship {ship}" if ship else "ship", "invalid": "invalid, do not read"}.get(decision, decision)
        tone = "good" if decision == "ship" else ("bad" if decision in ("do not ship", "invalid") else "")
        lines.append(Line(eid, verdict, detail, "experiments", "effects", tone))
    return lines


def judge_lines(con: duckdb.DuckDBPyConnection, label: JudgeLabels | None = None) -> list[Line]:
    if not _exists(con, "calibration_history"):
        return []
    label = label or JudgeLabels(con)
    rows = con.execute("select judge_version, period_start, recalibrate_dimensions, rubric_vague_dimensions, "
                       "drifted_dimensions from calibration_history where period = 'month' "
                       "order by judge_version, period_start").fetchall()
    by_version: dict[str, list] = {}
    for version, month, recal, vague, drifted in rows:
        by_version.setdefault(version, []).append((month, recal or [], vague or [], drifted or []))
    lines = []
    for version, months in by_version.items():
        month, recal, vague, drifted = months[-1]
        problems = []
        if drifted:
            since = month
            for earlier, _, _, d in reversed(months[:-1]):
                if not d:
                    break
                since = earlier
            problems.append(f"drifted on {', '.join(drifted)} since {since:%Y-%m}")
        else:  # a drift in the last quarter that has passed is still worth a look
            recent = [(m, d) for m, _, _, d in months[-4:-1] if d]
            if recent:
                problems.append("drifted in " + ", ".join(f"{m:%Y-%m} on {', '.join(d)}" for m, d in recent)
                                + " (not since)")
        if recal:
            problems.append(f"recalibrate {', '.join(recal)} (agreement with people below the floor)")
        if vague:
            problems.append(f"rubric vague on {', '.join(vague)} (people disagree among themselves)")
        verdict = "needs attention" if problems else "ok"
        lines.append(Line(f"judge {label(version)}", verdict,
                          f"{month:%Y-%m}: " + ("; ".join(problems) if problems else "agrees with people, no drift"),
                          "calibration", "agreement and drift", "bad" if problems else "good"))
    return lines


def mismatch_lines(con: duckdb.DuckDBPyConnection, version: str) -> list[Line]:
    if not _exists(con, "offline_online_correlation"):
        return []
    rows = con.execute("select dimension, metric, unnest(mismatches) from offline_online_correlation "
                       "where kind = 'experiment' and judge_version = $v and quarter = (select max(quarter) from "
                       "offline_online_correlation where judge_version = $v) order by all", {"v": version}).fetchall()
    found: dict[str, list[str]] = {}
    for dimension, metric, finding in rows:
        # a finding reads '<experiment>/<variant>: judge +0.20 points, users worse ...' (names may hold ':')
        subject = finding.split(": judge ", 1)[0]
        pair = f"{dimension} vs {metric}"
        if pair not in found.setdefault(subject, []):
            found[subject].append(pair)
    return [Line(f"offline vs online: {subject}", "judge and users disagree", ", ".join(pairs), "offline-online",
                 "the scatter", "bad") for subject, pairs in found.items()]


def gate_lines(con: duckdb.DuckDBPyConnection, version: str, baseline: str) -> list[Line]:
    if not _exists(con, "candidate_responses"):
        return []
    from pipeline.report.gate import GateConfig, GateError, evaluate

    candidates = [v for (v,) in con.execute("select distinct variant from candidate_responses where variant <> $b "
                                            "order by 1", {"b": baseline}).fetchall()]
    lines = []
    for candidate in candidates:
        try:
            result = evaluate(con, candidate, baseline, version, GateConfig())
        except GateError as exc:  # not enough to judge it (no regression set, no ratings under this judge, ...)
            lines.append(Line(f"release gate: {candidate}", "not decided", f"{exc}", "eval-set",
                              "slices and regression set"))
            continue
        failed = [r for r in result.rows if not r.passed]
        detail = ("; ".join(f"{r.check} {r.subject}: {r.detail}" for r in failed[:3])
                  + (f"; and {len(failed) - 3} more" if len(failed) > 3 else "")) if failed else \
            f"no slice, regression case or frontier check fails against {baseline}"
        lines.append(Line(f"release gate: {candidate}", "pass" if result.passed else "blocked", detail, "eval-set",
                          "slices and regression set", "good" if result.passed else "bad"))
    return lines


def forecast_lines(con: duckdb.DuckDBPyConnection, version: str) -> list[Line]:
    if not _exists(con, "calibration_forecast"):
        return []
    rows = con.execute("select candidate, dimension, metric, fit_status, predicted_online_better, prediction_low, "
                       "prediction_high, required_n_per_arm from calibration_forecast where judge_version = $v "
                       "order by candidate, fit_status = 'predictive' desc, fit_pairs desc",
                       {"v": version}).fetchall()
    best: dict[str, tuple] = {}
    for row in rows:
        best.setdefault(row[0], row)
    lines = []
    for candidate, dimension, metric, status, predicted, low, high, n in best.values():
        if predicted is None:
            continue
        direction = "better" if predicted > 0 else "worse"
        interval = (f"95% prediction {low:+.0%} to {high:+.0%}, positive = better" if low is not None and high is not None
                    else "no prediction interval: too few pairs")
        detail = (f"users {direction} on {metric} by about {abs(predicted):.0%} ({interval}), from its {dimension} "
                  f"scores and a {status} calibration fit"
                  + (f"; an experiment to confirm it needs about {n:,} users per arm" if n else ""))
        lines.append(Line(f"forecast: {candidate}", "offline only", detail, "calibration", "the calibration fit"))
    return lines


def eval_set_lines(con: duckdb.DuckDBPyConnection) -> list[Line]:
    if not _exists(con, "eval_set_versions"):
        return []
    latest = con.execute("select quarter from eval_set_versions order by quarter desc, created_at desc limit 1").fetchall()
    if not latest or con.execute("select max(log_date) from clean_logs").fetchall()[0][0] is None:
        return []  # no eval set, or no production days to compare it with
    from pipeline.evalsets.versions import eval_set_drift

    report = eval_set_drift(con, latest[0][0], ("topic",))
    due = report.tvd > EVAL_SET_DRIFT
    return [Line(f"eval set {latest[0][0]:%Y}-Q{(latest[0][0].month - 1) // 3 + 1}", "rebuild now" if due else "current",
                 f"its topic mix is {report.tvd:.2f} (total variation) from the last 30 days of production; "
                 f"above {EVAL_SET_DRIFT} it is due for a rebuild", "eval-set", "the mix", "bad" if due else "good")]


def this_week(con: duckdb.DuckDBPyConnection, version: str, baseline: str, stamp: str,
              label: JudgeLabels | None = None) -> tuple[str, list[Line]]:
    """The section's HTML and its lines."""
    lines = (experiment_lines(con) + judge_lines(con, label or JudgeLabels(con)) + mismatch_lines(con, version) + gate_lines(con, version, baseline)
             + forecast_lines(con, version) + eval_set_lines(con))
    return render("this_week.html.j2", lines=lines, stamp=stamp), lines
