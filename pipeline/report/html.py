"""The weekly report: one self-contained HTML page (inline SVG charts and CSS, no scripts, no
fonts or files fetched) built from the warehouse.

Sections, in the funnel's order: this week's decisions (pipeline/report/week.py), the eval set
and per-slice results with the regression set, variant ratings and the Pareto plot, experiments,
offline versus online, the calibration trend, and the outputs to read this week. All HTML comes
from Jinja2 templates with autoescaping (pipeline/report/templates/: the page, the summary, and
the tables, headings and articles every section is built of); only the charts' SVG is inserted
as it is. Charts are drawn with matplotlib as SVG with text as paths. Every label is drawn
as the literal text it is: names come from data (a variant `on$\\foo$` is not math text, and
never TeX).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import warnings
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np

from pipeline.report.week import JudgeLabels, _environment, render, this_week
from pipeline.warehouse import statement

# labels are data (variant, experiment, metric and topic names): `$...$` must not be parsed as math
_LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}


@cache
def _pyplot():
    """matplotlib's pyplot on the Agg backend with the report's style, imported on first use (it
    takes a while, and every process Dagster starts imports this module)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 100,
                         "svg.hashsalt": "evalfunnel"})
    plt.rcParams.update(_LITERAL_TEXT)
    return plt
AGREEMENT_FLOOR, KAPPA_FLOOR, DRIFT_THRESHOLD, SLICE_MARGIN = 0.8, 0.5, 0.5, 0.3
# in the funnel's order: what to act on, then the eval set, the judge's ratings of candidates, the
# online experiments, how offline and online agree, the judge's calibration, and the outputs
SECTIONS = (("this-week", "This week"), ("eval-set", "Eval set, slices and the regression set"),
            ("ratings", "Variant ratings and the Pareto frontier"), ("experiments", "Experiments"),
            ("offline-online", "Offline versus online"), ("calibration", "Calibration trend"),
            ("outputs", "Outputs to read this week"))


def _save(fig, buf, **kwargs) -> None:
    """Save with every text literal, whatever the process's rcParams became since the import."""
    plt = _pyplot()
    from matplotlib.text import Text
    try:
        with plt.rc_context(_LITERAL_TEXT), warnings.catch_warnings():
            # a name in a script the bundled font lacks (CJK, emoji) draws as boxes in a chart;
            # the report's tables show it as written, so the warning is noise on the console
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            for text in fig.findobj(Text):
                text.set_parse_math(False)
                text.set_usetex(False)
            fig.savefig(buf, **kwargs)
    finally:
        plt.close(fig)


def _inline_svg(fig) -> str:
    buf = io.StringIO()
    _save(fig, buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


_renderer = [_inline_svg]  # what a section does with each figure: inline SVG, or collect PNGs


def _svg(fig) -> str:
    return _renderer[-1](fig)


def section_charts(section, *args, dpi: int = 70) -> list[str]:
    """The charts a section draws, as markdown images (PNG data URIs) for Dagster's metadata."""
    collected: list[str] = []

    def as_png(fig) -> str:
        buf = io.BytesIO()
        _save(fig, buf, format="png", bbox_inches="tight", dpi=dpi)
        collected.append(f"![chart](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})")
        return ""

    _renderer.append(as_png)
    try:
        section(*args)
    finally:
        _renderer.pop()
    return collected


@dataclass(frozen=True)
class Cell:
    """A table cell with a class (regress, pass, fail) or a tooltip; its text is escaped."""

    text: str
    cls: str = ""
    title: str = ""


@cache
def _parts():
    """The macros of templates/parts.html.j2 (tables, headings, articles), autoescaping."""
    return _environment().get_template("parts.html.j2").module


def _table(head: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    return str(_parts().table(head, rows, classes or []))


def _none(message: str) -> str:
    return str(_parts().empty(message))


def _heading(text: str, tooltip: str = "") -> str:
    return str(_parts().heading(text, tooltip))


# ---- calibration ------------------------------------------------------------------------

def calibration_section(con: duckdb.DuckDBPyConnection, label: JudgeLabels | None = None) -> str:
    label = label or JudgeLabels(con)
    plt = _pyplot()
    rows = con.execute(statement("report/agreement_trend")).fetchall()
    if not rows:
        return _none("No judge_human_agreement rows yet: add human_labels/ and run monthly_judge_validation.")
    by_version: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for month, version, dim, within, kappa, _ in rows:
        by_version[version][dim].append((month, within, kappa))
    parts = []
    for version, dims in by_version.items():
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        for dim, points in sorted(dims.items()):
            months = [p[0] for p in points]
            axes[0].plot(months, [p[1] for p in points], marker="o", label=dim)
            axes[1].plot(months, [p[2] for p in points], marker="o", label=dim)
        axes[0].axhline(AGREEMENT_FLOOR, color="crimson", linestyle="--", label=f"floor {AGREEMENT_FLOOR:.0%}")
        axes[1].axhline(KAPPA_FLOOR, color="crimson", linestyle="--", label=f"floor {KAPPA_FLOOR}")
        axes[0].set(title="Within-one agreement with the human consensus", xlabel="month (labels made)",
                    ylabel="share of items", ylim=(0, 1.05))
        axes[1].set(title="Cohen's kappa (quadratic weights)", xlabel="month (labels made)", ylabel="kappa",
                    ylim=(-0.2, 1.05))
        axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        for ax in axes:
            ax.tick_params(axis="x", rotation=45)
        parts.append(_heading(f"Judge {label(version)}", f"judge version {version}") + _svg(fig))
    drift = con.execute(statement("report/drift_trend")).fetchall()
    if drift:
        series: dict[tuple, list] = defaultdict(list)
        for month, version, dim, method, shift, _ in drift:
            series[(version, method, dim)].append((month, shift))
        fig, ax = plt.subplots(figsize=(10, 3.2))
        for (version, method, dim), points in sorted(series.items()):
            if any(abs(s or 0) > 0 for _, s in points):
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                        label=f"{label(version)}: {dim} ({method})")
        for sign in (1, -1):
            ax.axhline(sign * DRIFT_THRESHOLD, color="crimson", linestyle="--")
        ax.set(title="Judge drift against its anchor (dashed: the +/-0.5 point threshold)", xlabel="month",
               ylabel="shift (rubric points)")
        ax.tick_params(axis="x", rotation=45)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        parts.append(_heading("Drift") + _svg(fig))
        moved = [(m, v, d, meth, s) for m, v, d, meth, s, flag in drift if flag]
        parts.append(_table(["month", "judge", "dimension", "method", "shift"],
                            [[m, Cell(label(v), title=f"judge version {v}"), d, meth, f"{s:+.2f}"]
                             for m, v, d, meth, s in moved])
                     if moved else _none("No drifted month."))
    corr = con.execute(statement("report/correlation_trend")).fetchall()
    if corr:
        fig, ax = plt.subplots(figsize=(10, 3.2))
        series = defaultdict(list)
        for quarter, version, dim, metric, n, rho, _ in corr:
            series[(version, dim, metric)].append((quarter, rho, n))
        for (version, dim, metric), points in sorted(series.items()):
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"{dim} ~ {metric}")
        ax.axhline(0.6, color="crimson", linestyle="--", label="predictive at 0.6")
        ax.set(title="Offline-online Spearman correlation per quarter (all pairs to date)", xlabel="quarter",
               ylabel="Spearman's rho", ylim=(-1.05, 1.05))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        parts.append(_heading("Offline-online correlation") + _svg(fig))
    parts.append(ppi_section(con, label))
    return "".join(parts)


def _interval(estimate: float | None, low: float | None, high: float | None) -> str:
    return "" if estimate is None else f"{estimate:.2f} [{low:.2f}, {high:.2f}]"


def ppi_section(con: duckdb.DuckDBPyConnection, label: JudgeLabels) -> str:
    """Per judge version's latest month: per variant and dimension, the judge-only, humans-only and
    prediction-powered intervals for the mean human score, and the labels the judge saved."""
    rows = con.execute(statement("report/ppi_intervals")).fetchall()
    heading = _heading("Human-scale estimates (prediction-powered)",
                       "the judge's mean on every item, corrected by the judge-minus-human error on the labelled items")
    if not rows:
        return heading + _none("No ppi_estimates yet: a month needs 10 or more labelled items that the judge also scored.")
    plt = _pyplot()
    parts = [heading]
    for version in dict.fromkeys(r[1] for r in rows):
        mine = [r for r in rows if r[1] == version]
        shown = [r for r in mine if r[3] == "*"] or mine
        fig, ax = plt.subplots(figsize=(10, 0.5 + 0.45 * len(shown)))
        for i, r in enumerate(shown):
            for offset, (est, lo, hi), colour, name in (
                    (-0.22, r[7:10], "tab:gray", "judge only"), (0.0, r[10:13], "tab:blue", "humans only"),
                    (0.22, r[13:16], "tab:green", "prediction-powered")):
                if est is not None:
                    ax.errorbar([est], [i + offset], xerr=[[est - lo], [hi - est]], fmt="o", color=colour,
                                capsize=3, label=name if i == 0 else None)
        ax.set_yticks(range(len(shown)), [f"{r[3]} {r[4]} ({r[2]})" for r in shown])
        ax.set(title=f"{mine[0][0]:%Y-%m}: mean human score, 95% intervals", xlabel="rubric points")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        parts.append(_heading(f"Judge {label(version)}, {mine[0][0]:%Y-%m}", f"judge version {version}") + _svg(fig))
        parts.append(_table(
            ["variant", "dimension", "method", "labelled", "judged only", "judge only", "humans only",
             "prediction-powered", "lambda", "labels saved"],
            [[r[3], r[4], r[2], r[5], r[6], _interval(*r[7:10]), _interval(*r[10:13]), _interval(*r[13:16]),
              "" if r[16] is None else f"{r[16]:.2f}", "" if r[17] is None else f"{r[17]:+.0f}"] for r in mine]))
    return "".join(parts)


# ---- offline versus online --------------------------------------------------------------

def offline_online_section(con: duckdb.DuckDBPyConnection, version: str, label: JudgeLabels | None = None) -> str:
    label = label or JudgeLabels(con)
    plt = _pyplot()
    rows = [r for r in con.execute(statement("report/offline_online_pairs")).fetchall() if r[0] == version]
    if not rows:
        return _none(f"No offline_online pairs for judge {label(version)} yet (quarterly_eval_rebuild).")
    groups: dict[tuple, list] = defaultdict(list)
    for _, dim, metric, eid, variant, jd, lo, hi, better, online_sig, judge_sig in rows:
        groups[(metric, dim)].append((eid, variant, jd, lo, hi, better, online_sig, judge_sig))
    # per metric, the dimension with the most confident mismatches, then the widest spread of
    # judge deltas: the most informative view
    chosen = {}
    for (metric, dim), points in groups.items():
        mismatches = sum((p[2] > 0) != (p[5] > 0) and p[6] and p[7] for p in points)
        key = (mismatches, max(p[2] for p in points) - min(p[2] for p in points))
        if len(points) >= 2 and key > chosen.get(metric, (None, (-1, -1.0)))[1]:
            chosen[metric] = (dim, key)
    parts = []
    for metric, (dim, _) in sorted(chosen.items()):
        points = groups[(metric, dim)]
        fig, ax = plt.subplots(figsize=(6.5, 4))
        x = [p[2] for p in points]
        y = [p[5] * 100 for p in points]
        mismatch = [(p[2] > 0) != (p[5] > 0) and p[6] and p[7] for p in points]
        ax.errorbar(x, y, xerr=[[p[2] - p[3] for p in points], [p[4] - p[2] for p in points]], fmt="none",
                    ecolor="grey", alpha=0.5, label="judge delta 95% CI")
        ax.scatter([a for a, m in zip(x, mismatch) if not m], [b for b, m in zip(y, mismatch) if not m], color="tab:blue",
                   label="experiment variant", zorder=3)
        ax.scatter([a for a, m in zip(x, mismatch) if m], [b for b, m in zip(y, mismatch) if m], color="crimson",
                   label="mismatch (both significant, opposite signs)", zorder=3)
        colour = {f"{p[0]}/{p[1]}": "crimson" if m else "black" for p, m in zip(points, mismatch)}
        for label, lx, ly, dy in _label_offsets(ax, [(f"{p[0]}/{p[1]}", p[2], p[5] * 100) for p in points]):
            ax.annotate(label, (lx, ly), fontsize=7, xytext=(4, 4 + dy), textcoords="offset points", color=colour[label],
                        arrowprops={"arrowstyle": "-", "color": "#999", "lw": 0.5} if dy else None)
        if len(set(x)) >= 2:
            slope, intercept = np.polyfit(x, y, 1)
            xs = np.linspace(min(x), max(x), 20)
            ax.plot(xs, slope * xs + intercept, color="tab:orange", label="least-squares fit")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set(title=f"{metric}: judge {dim} delta against the online effect", xlabel=f"judge delta ({dim}, points)",
               ylabel="online effect, % (positive = better for users)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        parts.append(_svg(fig))
    mismatches = con.execute("select dimension, metric, unnest(mismatches) from offline_online_correlation where "
                             "judge_version = $v and kind = 'experiment' and quarter = (select max(quarter) from "
                             "offline_online_correlation) order by all", {"v": version}).fetchall()
    parts.append(_heading("Mismatches") + (_table(["dimension", "metric", "finding"], [list(m) for m in mismatches])
                                           if mismatches else _none("No confident mismatch.")))
    return "".join(parts)


# ---- experiments ------------------------------------------------------------------------

def experiments_section(con: duckdb.DuckDBPyConnection) -> str:
    plt = _pyplot()
    rows = con.execute(statement("report/experiment_effects")).fetchall()
    if not rows:
        return _none("No experiment_summary yet (analyze_experiments).")
    summary, effects = {}, []
    for eid, decision, srm_p, invalid, reason, variant, metric, role, rel, lo, hi, hib, sig, ni, _ in rows:
        summary[eid] = (decision, srm_p, invalid, reason)
        if metric is not None and rel is not None:
            effects.append((eid, variant, metric, role, rel, lo, hi, hib, sig, ni))
    table = _table(["experiment", "decision", "SRM p-value", "SRM", "why"],
                   [[eid, d, "" if p is None else f"{p:.2g}", "invalid" if inv else "ok", why]
                    for eid, (d, p, inv, why) in summary.items()],
                   ["bad" if d in ("invalid", "do not ship") else ("good" if d == "ship" else "")
                    for d, *_ in summary.values()])
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(effects) + 1.2))
    labels = []
    for k, (eid, variant, metric, role, rel, lo, hi, hib, sig, ni) in enumerate(effects):
        good = (rel > 0) == bool(hib)
        color = "grey" if not sig else ("tab:green" if good else "crimson")
        ax.errorbar([rel * 100], [k], xerr=[[(rel - (lo if lo is not None else rel)) * 100],
                                            [((hi if hi is not None else rel) - rel) * 100]],
                    fmt="s" if role == "guardrail" else "o", color=color, capsize=3)
        labels.append(f"{eid}/{variant} {metric} ({role})")
    ax.set_yticks(range(len(effects)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set(title="Primary (circles) and guardrail (squares) effects with 95% CIs; green better, red worse, grey n.s.",
           xlabel="relative difference, treatment vs control (%)")
    return table + _svg(fig)


# ---- ratings ----------------------------------------------------------------------------

def ratings_section(con: duckdb.DuckDBPyConnection, version: str, label: JudgeLabels | None = None) -> str:
    label = label or JudgeLabels(con)
    plt = _pyplot()
    ratings = con.execute("select variant, rating, ci_low, ci_high, length_controlled from variant_ratings "
                          "where judge_version = $v order by length_controlled, rating desc", {"v": version}).fetchall()
    if not ratings:
        return _none(f"No variant_ratings for judge {label(version)} yet (rate_candidates).")
    fig, ax = plt.subplots(figsize=(8, 3))
    variants = sorted({r[0] for r in ratings})
    for offset, controlled in ((-0.12, False), (0.12, True)):
        pts = [r for r in ratings if r[4] == controlled]
        ys = [variants.index(r[0]) + offset for r in pts]
        ax.errorbar([r[1] for r in pts], ys, xerr=[[r[1] - (r[2] or r[1]) for r in pts], [(r[3] or r[1]) - r[1] for r in pts]],
                    fmt="o", capsize=3, label="length-controlled" if controlled else "plain")
    ax.set_yticks(range(len(variants)), variants)
    ax.set(title="Bradley-Terry ratings with 95% bootstrap CIs", xlabel="rating (Elo scale; baseline = 1000)")
    ax.legend(fontsize=7)
    parts = [_svg(fig)]
    frontier = con.execute("select variant, quality, cost_per_request, latency_p50_ms, on_frontier from pareto_frontier "
                           "where judge_version = $v order by variant", {"v": version}).fetchall()
    if frontier:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, col, label in ((axes[0], 2, "cost per request (USD)"), (axes[1], 3, "p50 latency (ms)")):
            placed = [(variant, cost if col == 2 else lat, quality, on) for variant, quality, cost, lat, on in frontier
                      if (cost if col == 2 else lat) is not None]
            for variant, x, quality, on in placed:
                ax.scatter([x], [quality], color="tab:green" if on else "grey", s=40, zorder=3)
            for variant, x, quality, dy in _label_offsets(ax, placed):
                ax.annotate(variant, (x, quality), fontsize=7, xytext=(5, dy), textcoords="offset points",
                            arrowprops={"arrowstyle": "-", "color": "#999", "lw": 0.5} if dy else None)
            ax.set(xlabel=label, ylabel="rating (quality)", title=f"Quality against {label.split(' (')[0]}")
        axes[0].scatter([], [], color="tab:green", label="on the frontier")
        axes[0].scatter([], [], color="grey", label="dominated")
        axes[0].legend(fontsize=7)
        parts.append(_svg(fig))
    return "".join(parts)


def _label_offsets(ax, points: list[tuple]) -> list[tuple[str, float, float, float]]:
    """(label, x, y, vertical offset in points) so that no two labels of `points` overlap:
    labels are stacked upward, lowest first, wherever two would share a line (points this close
    on a chart of a few variants; the Pareto cost chart's labels sat on top of each other)."""
    if not points:
        return []
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    x_span = (max(xs) - min(xs)) or 1.0
    y_span = (max(ys) - min(ys)) or 1.0
    height_pt = ax.figure.get_size_inches()[1] * 72 * 0.75  # the axes' height in points, about
    width_pt = ax.figure.get_size_inches()[0] * 72 * 0.4
    placed: list[tuple[float, float, int]] = []  # label boxes as (x pt, y pt, characters)
    out = []
    for label, x, y, *_ in sorted(points, key=lambda p: (p[2], p[1])):
        px, py = (x - min(xs)) / x_span * width_pt, (y - min(ys)) / y_span * height_pt
        dy = 0.0
        while any(abs(px - qx) < 4.2 * max(len(label), n) and abs(py + dy - qy) < 9 for qx, qy, n in placed):
            dy += 9
        placed.append((px, py + dy, len(label)))
        out.append((label, x, y, dy))
    return out


# ---- eval set, slices and regression set -------------------------------------------------

def eval_set_section(con: duckdb.DuckDBPyConnection, version: str, baseline: str) -> str:
    plt = _pyplot()
    parts = []
    latest = con.execute("select quarter, counts, production_mix from eval_set_versions order by quarter desc, "
                         "created_at desc limit 1").fetchone()
    if latest:
        quarter, counts, mix = latest[0], json.loads(latest[1]), json.loads(latest[2])
        head = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("head:")}
        total = sum(head.values()) or 1
        topics = sorted(set(mix) | set(head))
        fig, ax = plt.subplots(figsize=(7, 3))
        xs = range(len(topics))
        ax.bar([x - 0.2 for x in xs], [mix.get(t, 0) * 100 for t in topics], width=0.4, label="production (last 90 days)")
        ax.bar([x + 0.2 for x in xs], [head.get(t, 0) / total * 100 for t in topics], width=0.4, label="eval set (head)")
        ax.set_xticks(list(xs), topics)
        ax.set(title=f"Eval set {quarter}: head strata against the production mix", ylabel="share of requests (%)",
               xlabel="topic")
        ax.legend(fontsize=7)
        other = {k: v for k, v in counts.items() if not k.startswith("head:")}
        parts.append(_svg(fig) + str(_parts().para("Other strata: " + ", ".join(f"{k} {v}" for k, v in sorted(other.items())))))
    else:
        parts.append(_none("No eval set yet (quarterly_eval_rebuild)."))
    slices = con.execute("select variant, topic, dimension, avg(score), count(*) from candidate_scores where "
                         "judge_version = $v and topic is not null and score is not null group by all order by all",
                         {"v": version}).fetchall()
    if slices:
        means = {(v, t, d): m for v, t, d, m, _ in slices}
        variants = sorted({v for v, *_ in slices})
        keys = sorted({(t, d) for _, t, d, _, _ in slices})
        rows, classes = [], []
        for topic, dim in keys:
            base = means.get((baseline, topic, dim))
            cells, flag = [topic, dim], ""
            for v in variants:
                m = means.get((v, topic, dim))
                delta = None if m is None or base is None or v == baseline else m - base
                text = "" if m is None else f"{m:.2f}" + ("" if delta is None else f" ({delta:+.2f})")
                regress = delta is not None and delta < -SLICE_MARGIN
                flag = "bad" if regress else flag
                cells.append(Cell(text, "regress" if regress else ""))
            rows.append(cells)
            classes.append(flag)
        parts.append(_heading(f"Per-slice scores (mean; change against {baseline}; red: a drop beyond {SLICE_MARGIN} points)")
                     + _table(["topic", "dimension", *variants], rows, classes))
    reg = con.execute("select case_id, variant, passed, failures from regression_results order by case_id, variant").fetchall()
    if reg:
        variants = sorted({v for _, v, _, _ in reg})
        cases: dict[str, dict] = defaultdict(dict)
        for case, v, passed, failures in reg:
            cases[case][v] = (passed, failures)
        rows = [[case, *[(Cell("pass", "pass") if r[v][0] else Cell("fail", "fail", r[v][1] or "")) if v in r else ""
                         for v in variants]] for case, r in sorted(cases.items())]
        passed = {v: sum(1 for r in cases.values() if r.get(v, (False,))[0]) for v in variants}
        rows.append(["passed", *[f"{passed[v]} / {len(cases)}" for v in variants]])
        parts.append(_heading("Regression set per candidate") + _table(["case", *variants], rows))
    return "".join(parts)


# ---- outputs to read --------------------------------------------------------------------

def outputs_section(con: duckdb.DuckDBPyConnection, version: str, imported: list[str], limit: int = 20,
                    label: JudgeLabels | None = None) -> str:
    label = label or JudgeLabels(con)
    cards = []
    for v in [version, *imported]:
        for item, variant, gap, scores, rationale, query, response in con.execute(
                statement("report/outputs_to_read"), {"version": v, "limit": limit}).fetchall():
            cards.append((gap, f"Judge {label(v)} against people: {gap:g} points apart, summed over the "
                          "rubric's dimensions", item, variant, query, response, scores, rationale))
    cards.sort(key=lambda c: -c[0])
    picked = cards[: max(limit - 5, 0)]
    uncertain = con.execute(statement("report/uncertain_outputs"), {"version": version, "limit": 5}).fetchall()
    parts = _parts()
    out = [str(parts.judged(why, item, variant, query, response, scores, rationale))
           for _, why, item, variant, query, response, scores, rationale in picked]
    out += [str(parts.contradiction(orders, item, a, b, query, ra, rb, rationale))
            for item, a, b, orders, rationale, query, ra, rb in uncertain]
    return "".join(out) if out else _none("Nothing judged against human labels yet.")


# ---- the page ---------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;
color:#1d1d1f}h1{margin-bottom:0}nav a{margin-right:1rem}section{border-top:1px solid #ddd;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}th,td{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left;vertical-align:top}tr.bad td{background:#fff0f0}tr.good td{background:#f0fff0}.regress,.fail{color:#b00020;
font-weight:600}.pass{color:#08700a}pre{white-space:pre-wrap;background:#f7f7f9;padding:.5rem;max-height:14rem;
overflow:auto;font-size:.8rem}article{border:1px solid #e3e3e3;border-radius:6px;padding:.5rem 1rem;margin:.75rem 0}
.meta{color:#666;font-size:.8rem}.empty{color:#666;font-style:italic}svg{max-width:100%;height:auto}
ul.week{list-style:none;padding-left:0}ul.week li{padding:.3rem .5rem;border-left:4px solid #ccc;margin:.3rem 0}
ul.week li.bad{border-color:#b00020;background:#fff6f6}ul.week li.good{border-color:#08700a}ul.week .what{color:#444}
ul.week a.more{font-size:.8rem;margin-left:.4rem}td,li,h3,h4,.meta,span{unicode-bidi:isolate;overflow-wrap:anywhere}nav{position:sticky;top:0;background:#fff;padding:.4rem 0}
@media print{nav{display:none}section{break-inside:avoid-page}pre{max-height:none}a.more{display:none}}
@media (max-width:700px){body{padding:.5rem}table{font-size:.75rem}}
"""


@dataclass(frozen=True)
class Report:
    html: str
    sections: tuple[str, ...]
    charts: int


def build_report(con: duckdb.DuckDBPyConnection, version: str, *, baseline: str = "baseline",
                 now: dt.datetime | None = None) -> Report:
    imported = [v for (v,) in con.execute("select distinct judge_version from judge_scores where source = 'imported' "
                                          "order by 1").fetchall()]
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    label = JudgeLabels(con)
    week, _ = this_week(con, version, baseline, stamp, label)
    bodies = {"this-week": week, "calibration": calibration_section(con, label),
              "offline-online": offline_online_section(con, version, label), "experiments": experiments_section(con),
              "ratings": ratings_section(con, version, label), "eval-set": eval_set_section(con, version, baseline),
              "outputs": outputs_section(con, version, imported, label=label)}
    from markupsafe import Markup as Safe

    page = render("page.html.j2", css=Safe(CSS), judge=label(version), version=version, baseline=baseline,
                  stamp=stamp, sections=[(sid, title, Safe(bodies[sid])) for sid, title in SECTIONS])
    return Report(page, tuple(sid for sid, _ in SECTIONS), page.count("<svg"))


def write_report(report: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(report.html, encoding="utf-8")
    return path
