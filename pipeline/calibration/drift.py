"""judge_drift: has the judge moved since its anchor? Two methods, per judge version and dimension.

- `rescored` (judges the pipeline can call): the anchor set, items frozen the first time drift is
  computed (the earliest month with enough human-labelled logged responses), is re-scored every
  month by the current judge version. Each month's call is its own cache entry (the month is
  part of the key), so a provider that silently changes the model behind the same name shows
  up, while re-running a month costs nothing. The month's scores are compared, item by item, with
  the anchor's first scores (the first month re-scored): mean paired shift with a t interval
  and a Wilcoxon signed-rank p-value (zero differences dropped; exact over the sign flips, ties
  included, up to EXACT_MAX non-zero differences). Re-scoring happens when it runs, so a
  backfill of past months gives baseline rows for this method, not history.
- `residual` (every judge with human labels, imported judges included, and backfillable): the
  judge's residual against the human consensus (judge - median of the annotators) on the
  month's labelled items, against the residuals in the judge's anchor month: mean shift with a
  Welch interval and a Mann-Whitney p-value (exact over the splits of the pooled items, ties
  included, up to EXACT_MAX items).

Under MIN_DRIFT_ITEMS pairs (rescored) or items on either side (residual) no interval or test is
computed: the row keeps its means and shift, test `none` and the reason. A row is `drifted`
when the shift is at least `threshold` scale points (default 0.5), its 95% interval excludes
zero and the test's p is under ALPHA (0.05): never without a test.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import numpy as np

from pipeline.calibration.consensus import MIN_ITEMS, Item, pointwise_items
from pipeline.judge.fanout import JudgeTask, judge_with_cache, task_key
from pipeline.judge.prompt import TEMPLATE_VERSION, pointwise_messages
from pipeline.judge.rubric import judge_version
from pipeline.warehouse import insert_rows, retrying, statement

THRESHOLD = 0.5
ALPHA = 0.05  # the test's level; the intervals are the matching 95% ones
MIN_DRIFT_ITEMS = 10  # per side (pairs for rescored; anchor and month residuals for residual)
EXACT_MAX = 50  # exact null distributions up to this many ranked items (scipy's exact limit for the
# signed-rank test), the normal approximation with the tie correction above


@dataclass(frozen=True)
class Shift:
    n_anchor: int
    n_month: int
    anchor_mean: float
    month_mean: float
    shift: float
    low: float
    high: float
    p_value: float
    test: str  # the test and how its p-value was found, or "none"
    reason: str | None = None  # why no test was run (too few items); None when one was


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else math.nan


def _two_sided(dist: np.ndarray, observed: int) -> float:
    """Two-sided p of an observed (integer) statistic under the null probabilities `dist`
    (index = statistic): twice the smaller tail, each tail including the observed value."""
    return float(min(1.0, 2 * min(dist[observed:].sum(), dist[:observed + 1].sum())))


def signed_rank_test(diff: np.ndarray) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p of paired differences. Zero differences are dropped
    (Wilcoxon's own rule, scipy's zero_method="wilcox": an unchanged score says nothing about a
    direction); tied |differences| get midranks. Up to EXACT_MAX non-zero differences the p is
    exact: the statistic's distribution over all 2^m sign flips of the non-zero differences,
    ties included (what scipy's permutation method enumerates); above, the normal
    approximation with the tie correction. No non-zero difference: p = 1."""
    from scipy import stats
    d = np.asarray(diff, dtype=float)
    d = d[d != 0]
    if not len(d):
        return 1.0, "wilcoxon signed-rank (exact)"
    if len(d) > EXACT_MAX:
        p = stats.wilcoxon(d, zero_method="wilcox", correction=False, method="asymptotic").pvalue
        return float(p), "wilcoxon signed-rank (normal approximation)"
    weights = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)  # doubled midranks: integers
    dist = np.zeros(int(weights.sum()) + 1)
    dist[0] = 1.0
    for w in weights:  # each rank is in the positive sum with probability 1/2
        shifted = np.zeros_like(dist)
        shifted[w:] = dist[:-w]
        dist = 0.5 * (dist + shifted)
    return _two_sided(dist, int(weights[d > 0].sum())), "wilcoxon signed-rank (exact)"


def rank_sum_test(anchor: np.ndarray, month: np.ndarray) -> tuple[float, str]:
    """Two-sided Mann-Whitney (Wilcoxon rank-sum) p of two samples, ties at midranks. Up to
    EXACT_MAX items in all, the p is exact: the rank sum's distribution over every split of the
    pooled items into groups of these sizes, ties included (scipy's method="exact" ignores ties;
    its permutation method enumerates the same splits); above, scipy's normal approximation with
    the tie correction. All items equal: p = 1."""
    from scipy import stats
    a, b = np.asarray(anchor, dtype=float), np.asarray(month, dtype=float)
    pooled = np.concatenate([b, a])
    if np.all(pooled == pooled[0]):
        return 1.0, "mann-whitney (exact)"
    if len(pooled) > EXACT_MAX:
        return float(stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic").pvalue), \
            "mann-whitney (normal approximation)"
    weights = np.rint(2 * stats.rankdata(pooled)).astype(int)
    k = min(len(a), len(b))  # the statistic of the smaller group: a smaller table
    observed = int((weights[:len(b)] if len(b) == k else weights[len(b):]).sum())
    # ways[j, s]: subsets of j of the items seen so far whose doubled ranks sum to s
    ways = np.zeros((k + 1, int(weights.sum()) + 1))
    ways[0, 0] = 1.0
    for w in weights:
        ways[1:, w:] = ways[1:, w:] + ways[:-1, :-w]
    return _two_sided(ways[k] / ways[k].sum(), observed), "mann-whitney (exact)"


def _too_few(n_anchor: int, n_month: int, anchor_mean: float, month_mean: float, what: str) -> Shift:
    return Shift(n_anchor, n_month, anchor_mean, month_mean, month_mean - anchor_mean, math.nan, math.nan, math.nan,
                 "none", f"fewer than {MIN_DRIFT_ITEMS} {what}")


def paired_shift(anchor: np.ndarray, month: np.ndarray) -> Shift:
    """The same items scored at the anchor and now: mean difference, t CI, Wilcoxon signed-rank
    p (`signed_rank_test`). Under MIN_DRIFT_ITEMS pairs: no interval and no test, with the
    reason."""
    from scipy import stats
    anchor, month = np.asarray(anchor, dtype=float), np.asarray(month, dtype=float)
    keep = np.isfinite(anchor) & np.isfinite(month)  # a pair with a missing score is not a pair
    anchor, month = anchor[keep], month[keep]
    diff = month - anchor
    n = len(diff)
    if n < MIN_DRIFT_ITEMS:
        return _too_few(n, n, _mean(anchor), _mean(month), f"paired items ({n})")
    mean = float(diff.mean())
    if np.all(diff == diff[0]):  # no spread: the t interval degenerates to the one value
        low = high = mean
    else:
        ci = stats.ttest_1samp(diff, 0.0).confidence_interval(1 - ALPHA)
        low, high = float(ci.low), float(ci.high)
    p, test = signed_rank_test(diff)
    return Shift(n, n, float(anchor.mean()), float(month.mean()), mean, low, high, p, test)


def independent_shift(anchor: np.ndarray, month: np.ndarray) -> Shift:
    """Two samples of residuals: mean difference (month - anchor), Welch CI, Mann-Whitney p
    (`rank_sum_test`). Under MIN_DRIFT_ITEMS on either side: no interval and no test, with the
    reason."""
    from scipy import stats
    anchor, month = np.asarray(anchor, dtype=float), np.asarray(month, dtype=float)
    anchor, month = anchor[np.isfinite(anchor)], month[np.isfinite(month)]
    if min(len(anchor), len(month)) < MIN_DRIFT_ITEMS:
        return _too_few(len(anchor), len(month), _mean(anchor), _mean(month),
                        f"items on a side (anchor {len(anchor)}, month {len(month)})")
    shift = float(month.mean() - anchor.mean())
    if np.var(anchor) == 0 and np.var(month) == 0:  # no spread: the Welch interval degenerates to the one value
        low = high = shift
    else:
        ci = stats.ttest_ind(month, anchor, equal_var=False).confidence_interval(1 - ALPHA)
        low, high = float(ci.low), float(ci.high)
    p, test = rank_sum_test(anchor, month)
    return Shift(len(anchor), len(month), float(anchor.mean()), float(month.mean()), shift, low, high, p, test)


def drifted(s: Shift, threshold: float = THRESHOLD, alpha: float = ALPHA) -> bool:
    """|shift| >= threshold, the interval excludes zero and the test rejects at `alpha`; never
    without a test (too few items) or with an undefined value."""
    if s.reason is not None or any(math.isnan(v) for v in (s.shift, s.low, s.high, s.p_value)):
        return False
    return abs(s.shift) >= threshold and (s.low > 0 or s.high < 0) and s.p_value < alpha


def _residuals(items: list[Item]) -> np.ndarray:
    return np.array([i.judge - i.median for i in items], dtype=float)


def next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def residual_anchor(con: duckdb.DuckDBPyConnection, version: str) -> dt.date | None:
    """The judge version's anchor month, frozen in judge_anchors the first time it is needed:
    the earliest month in which it has MIN_ITEMS labelled items on some dimension."""
    row = con.execute("select anchor_month from judge_anchors where judge_version = $v and method = 'residual'",
                      {"v": version}).fetchone()
    if row:
        return row[0]
    months = con.execute(statement("calibration/labelled_months"), {"v": version, "min_items": MIN_ITEMS}).fetchall()
    if not months:
        return None
    con.execute("insert into judge_anchors values ($v, 'residual', $m, now())", {"v": version, "m": months[0][0]})
    return months[0][0]


def residual_rows(con: duckdb.DuckDBPyConnection, month: dt.date, threshold: float = THRESHOLD) -> list[dict]:
    """Residual drift of every judge version with human labels in `month` against its anchor month."""
    now = pointwise_items(con, month, next_month(month))
    out = []
    for version in sorted({v for v, _ in now}):
        anchor_month = residual_anchor(con, version)
        if anchor_month is None:
            continue
        before = pointwise_items(con, anchor_month, next_month(anchor_month))
        for (v, dimension), items in sorted(now.items()):
            if v != version or (v, dimension) not in before:
                continue
            s = independent_shift(_residuals(before[(v, dimension)]), _residuals(items))
            out.append(_row(month, version, dimension, "residual", anchor_month, s, threshold))
    return out


def _row(month, version, dimension, method, anchor_month, s: Shift, threshold) -> dict:
    def clean(v):
        return None if isinstance(v, float) and math.isnan(v) else v
    return {"month": month, "judge_version": version, "dimension": dimension, "method": method,
            "anchor_month": anchor_month, "n_anchor": s.n_anchor, "n_month": s.n_month,
            "anchor_mean": clean(s.anchor_mean), "month_mean": clean(s.month_mean), "shift": clean(s.shift),
            "shift_ci_low": clean(s.low), "shift_ci_high": clean(s.high), "test": s.test, "p_value": clean(s.p_value),
            "threshold": threshold, "drifted": drifted(s, threshold), "reason": s.reason}


COLUMNS = ("month", "judge_version", "dimension", "method", "anchor_month", "n_anchor", "n_month", "anchor_mean",
           "month_mean", "shift", "shift_ci_low", "shift_ci_high", "test", "p_value", "threshold", "drifted",
           "reason")


def store_drift(con: duckdb.DuckDBPyConnection, month: dt.date, rows: list[dict], methods: tuple[str, ...]) -> None:
    """Replace the month's rows of `methods`, in one transaction (retried on a conflicting commit)."""
    def write() -> None:
        con.execute("delete from judge_drift where month = $m and list_contains($methods, method)",
                    {"m": month, "methods": list(methods)})
        if rows:
            con.executemany(f"insert into judge_drift ({', '.join(COLUMNS)}, computed_at) "
                            f"values ({', '.join('?' for _ in COLUMNS)}, now())", [[r[c] for c in COLUMNS] for r in rows])

    retrying(con, write, f"judge_drift {month:%Y-%m}")


def rescored_anchor(con: duckdb.DuckDBPyConnection, version: str) -> dt.date | None:
    """The anchor month of the re-scored set for `version`, frozen at first use: the earliest
    month with MIN_ITEMS human-labelled responses that clean_logs holds."""
    row = con.execute("select anchor_month from judge_anchors where judge_version = $v and method = 'rescored'",
                      {"v": version}).fetchone()
    if row:
        return row[0]
    months = con.execute(statement("calibration/anchor_months"), {"min_items": MIN_ITEMS}).fetchall()
    if not months:
        return None
    con.execute("insert into judge_anchors values ($v, 'rescored', $m, now())", {"v": version, "m": months[0][0]})
    return months[0][0]


def rescored_rows(con: duckdb.DuckDBPyConnection, month: dt.date, settings, rubric, journal, *,
                  threshold: float = THRESHOLD, max_cost_usd: float | None = None, progress=None,
                  log=lambda message: None) -> list[dict]:
    """Re-score the anchor set with the current judge for `month` (cached per month) and compare
    with the anchor's first scores."""
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    anchor_month = rescored_anchor(con, version)
    if anchor_month is None:
        log(f"judge_drift: no month has {MIN_ITEMS} labelled logged responses yet; no anchor set")
        return []
    tasks = []
    for item_id, variant, messages, response in con.execute(
            statement("calibration/anchor_items"), {"start": anchor_month, "end": next_month(anchor_month)}).fetchall():
        prompt = pointwise_messages(rubric, [m for m in messages if m["role"] != "system"], response)
        # the month is part of the key: every month is a fresh call, and a re-run of it is cached
        tasks.append(JudgeTask(task_key(f"{version}|anchor-rescore:{month:%Y-%m}", prompt), "pointwise", prompt,
                               {"item_id": item_id, "variant": variant}))
    run = judge_with_cache(con, tasks, settings, rubric, version, journal, max_cost_usd=max_cost_usd, progress=progress)
    scores = [(version, month, r.task.meta["item_id"], r.task.meta["variant"], d, r.verdict.scores[d])
              for r in run.results if r.verdict for d in rubric.names]
    def write() -> int:
        con.execute("delete from judge_anchor_scores where judge_version = $v and month = $m", {"v": version, "m": month})
        return insert_rows(con, "insert into judge_anchor_scores values (?, ?, ?, ?, ?, ?, now())", scores)

    if not retrying(con, write, f"judge_anchor_scores {month:%Y-%m}"):
        log(f"judge_drift {month:%Y-%m}: none of the {len(tasks)} anchor verdicts parsed; no rescored drift this month")
    log(f"judge_drift {month:%Y-%m}: {len(tasks)} anchor item(s) re-scored, {run.cache_hits} from the cache")
    out = []
    for dimension in rubric.names:
        pairs = con.execute(statement("calibration/anchor_pairs"), {"v": version, "m": month, "d": dimension}).fetchall()
        if pairs:
            s = paired_shift(np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]))
            out.append(_row(month, version, dimension, "rescored", anchor_month, s, threshold))
    return out


def drift_table(rows: list[dict], limit: int = 40) -> list[dict]:
    """A preview of drift rows, drifted ones first, for a table in the asset's metadata; a row
    without a test says why."""
    table = []
    for r in sorted(rows, key=lambda r: (not r["drifted"], str(r["month"]), r["judge_version"], r["dimension"]))[:limit]:
        ci = "" if r["shift_ci_low"] is None else f"[{r['shift_ci_low']:+.2f}, {r['shift_ci_high']:+.2f}]"
        p = f"no test: {r['reason']}" if r.get("reason") else "" if r["p_value"] is None else f"{r['p_value']:.2g}"
        table.append({"month": str(r["month"])[:7], "judge version": r["judge_version"], "dimension": r["dimension"],
                      "method": r["method"], "shift": None if r["shift"] is None else round(float(r["shift"]), 2),
                      "95% CI": ci, "p": p, "drifted": bool(r["drifted"])})
    return table


def drifted_in(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> list[str]:
    """The drifted rows of months in [start, end), one readable line each."""
    rows = con.execute("select strftime(month, '%Y-%m'), judge_version, dimension, method, shift from judge_drift "
                       "where month >= $s and month < $e and drifted order by all", {"s": start, "e": end}).fetchall()
    return [f"{month} {v} {d} ({m}): {shift:+.2f}" for month, v, d, m, shift in rows]
