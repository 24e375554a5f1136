"""The release gate: may a candidate replace the baseline?

Three checks, from tables the pipeline already keeps (`rate_candidates` builds them):
- regression: every regression case the baseline passes, the candidate must pass too
  (regression_results);
- slices: on every high-stakes slice (by default every topic with at least `min_items` items
  both variants answered; configurable), on every rubric dimension, the candidate's paired mean
  score minus the baseline's must not fall below -`slice_margin` points (candidate_scores);
- pareto: no other variant may dominate the candidate by more than `pareto_tolerance` rating
  points while costing no more and answering no slower (pareto_frontier, p50 latency).
The gate fails when any row fails. Configuration: `gate.yaml` in the source directory (keys as
in GateConfig), overridden by the command's flags.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import yaml

from pipeline.judge.candidates import load_scores


class GateError(Exception):
    """The gate cannot decide (missing data or configuration); never a pass."""


@dataclass
class GateConfig:
    high_stakes_slices: dict[str, list[str]] = field(default_factory=dict)  # {"topic": ["billing"]}; empty: every topic
    slice_margin: float = 0.3  # rubric points
    min_items: int = 10
    pareto_tolerance: float = 25.0  # rating points (Elo scale)

    @classmethod
    def load(cls, path: Path) -> GateConfig:
        if not path.exists():
            return cls()
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise GateError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        unknown = set(doc) - set(cls.__dataclass_fields__)
        if unknown:
            raise GateError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(cls.__dataclass_fields__)})")
        slices = doc.get("high_stakes_slices") or {}
        if not isinstance(slices, dict) or any(not isinstance(v, list) for v in slices.values()):
            raise GateError(f"{path}: high_stakes_slices must map a slice dimension to a list of values")
        if set(slices) - {"topic"}:
            raise GateError(f"{path}: only the topic slice is kept for candidates, got {', '.join(sorted(slices))}")
        return cls(**{**asdict(cls()), **doc})


@dataclass(frozen=True)
class Row:
    check: str  # regression, slice, pareto
    subject: str  # a case id, a slice (topic=billing), or a variant
    dimension: str | None
    baseline: float | str | None
    candidate: float | str | None
    delta: float | None
    threshold: float | None
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateResult:
    candidate: str
    baseline: str
    judge_version: str
    config: GateConfig
    rows: list[Row]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def as_json(self) -> dict:
        return {"candidate": self.candidate, "baseline": self.baseline, "judge_version": self.judge_version,
                "passed": self.passed, "failures": sum(not r.passed for r in self.rows), "config": asdict(self.config),
                "checks": [asdict(r) for r in self.rows]}


def regression_rows(con: duckdb.DuckDBPyConnection, candidate: str, baseline: str) -> list[Row]:
    results: dict[str, dict[str, bool]] = {candidate: {}, baseline: {}}
    failures = {}
    for variant, case, passed, why in con.execute(
            "select variant, case_id, passed, failures from regression_results where list_contains($v, variant)",
            {"v": [candidate, baseline]}).fetchall():
        results[variant][case] = passed
        if variant == candidate:
            failures[case] = why
    for variant in (candidate, baseline):  # a misspelt name must not pass for want of rows
        if not results[variant]:
            raise GateError(f"no regression_results for {variant}")
    rows = []
    for case in sorted(set(results[baseline]) & set(results[candidate])):
        base, cand = results[baseline][case], results[candidate][case]
        if base and not cand:
            rows.append(Row("regression", case, None, "pass", "fail", None, None, False,
                            f"the baseline passes this case; the candidate fails: {failures.get(case) or 'judge verdict'}"))
    n_base = sum(1 for p in results[baseline].values() if p)
    n_cand = sum(1 for p in results[candidate].values() if p)
    rows.append(Row("regression", f"{len(results[candidate])} cases", None, n_base, n_cand, float(n_cand - n_base), None,
                    not rows, "no case the baseline passes is failed" if not rows else f"{len(rows)} new failure(s)"))
    return rows


def slice_rows(con: duckdb.DuckDBPyConnection, version: str, candidate: str, baseline: str, config: GateConfig) -> list[Row]:
    from scipy import stats
    scores = load_scores(con, version)
    topics = dict(con.execute("select item_id, any_value(topic) from candidate_scores where judge_version = $v "
                              "and topic is not null group by item_id", {"v": version}).fetchall())
    dims = sorted({d for v, d in scores if v == candidate})
    for variant in (candidate, baseline):
        if not any(v == variant for v, _ in scores):
            raise GateError(f"no candidate_scores for {variant} under judge version {version}")
    wanted = config.high_stakes_slices.get("topic") or sorted(set(topics.values()))
    rows = []
    for topic in wanted:
        items = {i for i, t in topics.items() if t == topic}
        subject = f"topic={topic}"
        shared = min(len(items & set(scores.get((candidate, d), {})) & set(scores.get((baseline, d), {}))) for d in dims)
        if shared < config.min_items:
            configured = bool(config.high_stakes_slices.get("topic"))
            rows.append(Row("slice", subject, None, None, None, None, -config.slice_margin, not configured,
                            f"{shared} shared item(s), under {config.min_items}: "
                            + ("a configured high-stakes slice must be covered" if configured else "not gated")))
            continue
        for dim in dims:
            cand, base = scores[(candidate, dim)], scores[(baseline, dim)]
            common = sorted(items & set(cand) & set(base))
            diff = np.array([cand[i] - base[i] for i in common], dtype=float)
            low = (float(stats.ttest_1samp(diff, 0.0).confidence_interval(0.95).low)
                   if np.ptp(diff) > 0 else float(diff[0]))
            delta = float(diff.mean())
            ok = delta >= -config.slice_margin
            rows.append(Row("slice", subject, dim, round(float(np.mean([base[i] for i in common])), 3),
                            round(float(np.mean([cand[i] for i in common])), 3), round(delta, 3), -config.slice_margin, ok,
                            f"{len(common)} items; 95% CI low {low:+.2f}"
                            + ("" if ok else f"; regresses beyond the {config.slice_margin} point margin")))
    return rows


def pareto_rows(con: duckdb.DuckDBPyConnection, version: str, candidate: str, config: GateConfig) -> list[Row]:
    frontier = {v: (q, c, lat) for v, q, c, lat in con.execute(
        "select variant, quality, cost_per_request, latency_p50_ms from pareto_frontier where judge_version = $v",
        {"v": version}).fetchall()}
    if candidate not in frontier:
        raise GateError(f"{candidate} is not in pareto_frontier under judge version {version}")
    q, cost, lat = frontier[candidate]

    def no_worse(other, mine):
        return other is None or mine is None or other <= mine

    rows = []
    for other, (oq, oc, olat) in sorted(frontier.items()):
        if other != candidate and oq - q > config.pareto_tolerance and no_worse(oc, cost) and no_worse(olat, lat):
            rows.append(Row("pareto", other, None, round(oq, 1), round(q, 1), round(q - oq, 1), -config.pareto_tolerance,
                            False, f"{other} rates {oq - q:.0f} points higher at no more cost "
                                   f"({_fmt(oc)} vs {_fmt(cost)} per request) and no more p50 latency "
                                   f"({_fmt(olat)} vs {_fmt(lat)} ms)"))
    if not rows:
        rows.append(Row("pareto", candidate, None, None, round(q, 1), None, -config.pareto_tolerance, True,
                        f"no variant dominates it by more than {config.pareto_tolerance:g} rating points"))
    return rows


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def evaluate(con: duckdb.DuckDBPyConnection, candidate: str, baseline: str, version: str, config: GateConfig) -> GateResult:
    if candidate == baseline:
        raise GateError("the candidate and the baseline are the same variant")
    rows = regression_rows(con, candidate, baseline) + slice_rows(con, version, candidate, baseline, config) \
        + pareto_rows(con, version, candidate, config)
    return GateResult(candidate, baseline, version, config, rows)


def render(result: GateResult) -> str:
    """The gate's table as plain text, failures first within each check."""
    head = ("check", "subject", "dimension", "baseline", "candidate", "delta", "limit", "result", "detail")
    body = []
    for r in sorted(result.rows, key=lambda r: (["regression", "slice", "pareto"].index(r.check), r.passed)):
        body.append((r.check, r.subject, r.dimension or "", "" if r.baseline is None else str(r.baseline),
                     "" if r.candidate is None else str(r.candidate), "" if r.delta is None else f"{r.delta:+g}",
                     "" if r.threshold is None else f"{r.threshold:+g}", "PASS" if r.passed else "FAIL", r.detail))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdict = "PASSED" if result.passed else f"FAILED ({sum(not r.passed for r in result.rows)} failing row(s))"
    return (f"release gate: {result.candidate} against {result.baseline} (judge {result.judge_version}): {verdict}\n"
            + "\n".join(lines))
