"""Benchmark: prediction-powered estimates for 1M judged items and 10k human labels (issue 18).

Two paths, each timed against a reference measured in the same run:
- the estimator (pipeline.calibration.ppi.ppi_mean, power-tuned) on 1M judge scores and 10k labels,
  against numpy's mean and variance of the same arrays (the floor any estimator pays);
- the asset's path: `ppi_rows` on a warehouse holding one month of 1M judged logged responses
  (two variants, one dimension) with 10k labelled, reading, grouping (variants, '*', topics, the
  paired difference) and estimating, against a bare DuckDB scan-and-average of the same rows.
And the point of it: interval widths at equal labelling cost, on a judge with a planted bias, for
humans only (uniform), PPI++ (uniform), and the active estimator (labels drawn by expected error).

    python bench/ppi.py [--items 1000000] [--labels 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from pipeline import warehouse  # noqa: E402
from pipeline.calibration import ppi  # noqa: E402
from pipeline.calibration.prediction_powered import ppi_rows  # noqa: E402


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def _population(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Human scores 1-5 and a judge that is 0.5 too high on long answers and noisy elsewhere."""
    quality = rng.normal(3.4, 0.9, n)
    long = rng.random(n) < 0.3
    human = np.clip(np.rint(quality + rng.normal(0, 0.4, n)), 1, 5)
    judge = np.clip(np.rint(quality + 0.5 * long + rng.normal(0, np.where(long, 0.9, 0.4))), 1, 5)
    return human, judge, long


def estimator(items: int, labels: int) -> None:
    rng = np.random.default_rng(0)
    human, judge, _ = _population(items, rng)
    idx = rng.choice(items, labels, replace=False)
    mask = np.zeros(items, bool)
    mask[idx] = True
    (_, ref) = _timed(lambda: (judge.mean(), judge.var(), human[mask].mean(), (human[mask] - judge[mask]).var()))
    est, seconds = _timed(lambda: ppi.ppi_mean(human[mask], judge[mask], judge[~mask]))
    print(f"estimator: ppi_mean on {items:,} items / {labels:,} labels: {seconds:.3f} s "
          f"({seconds / ref:.1f}x numpy's means and variances of the same arrays, {ref:.3f} s)")
    print(f"  estimate {est.estimate:.4f} [{est.ci_low:.4f}, {est.ci_high:.4f}], truth {human.mean():.4f}, "
          f"judge only {est.judge_estimate:.4f}, lambda {est.lam:.2f}, labels worth {est.effective_labels:,.0f}")


def widths(items: int, labels: int, reps: int = 200) -> None:
    """Mean 95% interval width at an expected `labels` labels, over `reps` draws."""
    rng = np.random.default_rng(1)
    human, judge, long = _population(items, rng)
    truth = human.mean()
    # the expected error a calibration loop would have learned: larger on long answers
    pi = ppi.inclusion_probabilities(np.where(long, 0.9, 0.4), labels, floor=0.2)
    out = {"humans only": [], "ppi++": [], "active": []}
    cover = {k: 0 for k in out}
    for _ in range(reps):
        mask = np.zeros(items, bool)
        mask[rng.choice(items, labels, replace=False)] = True
        est = ppi.ppi_mean(human[mask], judge[mask], judge[~mask])
        drawn = ppi.draw(pi, rng)
        act = ppi.active_mean(human[drawn], judge, drawn, pi)
        for name, (lo, hi) in (("humans only", (est.classical_ci_low, est.classical_ci_high)),
                               ("ppi++", (est.ci_low, est.ci_high)), ("active", (act.ci_low, act.ci_high))):
            out[name].append(hi - lo)
            cover[name] += lo <= truth <= hi
    base = np.mean(out["humans only"])
    print(f"widths at {labels:,} labels of {items:,} items ({reps} draws, 95%):")
    for name, ws in out.items():
        print(f"  {name:12s} {np.mean(ws):.4f} ({np.mean(ws) / base:.2f}x humans only; coverage {cover[name] / reps:.3f}; "
              f"equal width by humans alone needs {labels * (base / np.mean(ws)) ** 2:,.0f} labels)")


def asset_path(items: int, labels: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        with warehouse.connect(path) as con:
            half = items // 2
            # one month of logged requests, two variants each answering half, every answer judged
            con.execute("""
                insert into clean_logs (log_date, request_id, timestamp, user_id, messages, response, metadata, cleaned_at)
                select date '2026-03-01' + (i % 28)::int, 'req_' || i, timestamptz '2026-03-01 12:00:00+00' + to_days((i % 28)::int),
                       'u', [{'role': 'user', 'content': 'q'}], 'a', json_object('topic', 'topic_' || (i % 6)), now()
                from range($n) t(i)""", {"n": half})
            con.execute("""
                insert into judge_scores (item_id, variant, source, judge_model, rubric_version, judge_version, dimension,
                                          score, status, created_at)
                select 'req_' || i, v, 'experiment_sample', 'm', 'r', 'jv', 'correctness',
                       least(5, greatest(1, (hash(i, v) % 5)::int + 1)), 'ok', now()
                from range($n) t(i), (values ('a'), ('b')) s(v)""", {"n": half})
            con.execute("""
                insert into human_labels (kind, item_id, variant, annotator_id, dimension, score, labeled_at, source_file,
                                          source_line, loaded_at)
                select 'pointwise', 'req_' || i, v, 'ann', 'correctness',
                       least(5, greatest(1, (hash(i, v) % 5)::int + (hash(i) % 2)::int)), now(), 'f', 1, now()
                from range($k) t(i), (values ('a'), ('b')) s(v)""", {"k": labels // 2})
            start, end = date(2026, 3, 1), date(2026, 4, 1)
            (_, ref) = _timed(lambda: con.execute(
                "select j.variant, avg(j.score), avg(l.score) from judge_scores j join clean_logs c on c.request_id = j.item_id "
                "left join human_labels l on l.item_id = j.item_id and l.variant = j.variant group by 1").fetchall())
            rows, seconds = _timed(lambda: ppi_rows(con, start, end))
        print(f"asset path: ppi_rows on one month of {items:,} judged answers / {labels:,} labelled: {seconds:.2f} s, "
              f"{len(rows)} estimates ({seconds / ref:.1f}x a bare DuckDB scan-and-average of the same rows, {ref:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, default=10_000)
    args = parser.parse_args()
    estimator(args.items, args.labels)
    widths(min(args.items, 100_000), min(args.labels, 1_000))
    asset_path(args.items, args.labels)


if __name__ == "__main__":
    main()
