"""Tiny hand-written sources: the contract's minimum (logs/) and each optional input on its own.

Nothing here comes from the demo generator: the records are written field by field, in the
shapes a team exports them (JSONL, CSV, Parquet and gzipped JSONL, one of each per input), so the
graph is exercised on inputs the project did not produce for itself.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

# June 2026: a complete month at the end of a complete quarter (Q2), so every partitioned job has
# a partition to run; one month keeps each run of the matrix short
FIRST_DAY = datetime(2026, 6, 1, tzinfo=timezone.utc)
DAYS = 30
PER_DAY = 4
USERS = 24
TOPICS = ("billing", "coding", "travel")
QUESTIONS = {
    "billing": ["How do I change my plan?", "Why was I charged twice this month?", "Can I get an invoice for May?"],
    "coding": ["How do I reverse a list in Python?", "What does git rebase do?", "Explain SQL left join."],
    "travel": ["Is a visa needed for Japan?", "Best time to visit Lisbon?", "How early should I be at the airport?"],
}
ANSWERS = {
    "billing": "Open Settings, then Billing, and choose a new plan; the change applies at the next cycle.",
    "coding": "Use slicing: items[::-1] returns a reversed copy; items.reverse() reverses in place.",
    "travel": "Check the embassy's site for your passport; rules change, so confirm before you book.",
}


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def log_rows() -> list[dict]:
    """PER_DAY interactions a day for the month; some in an experiment, some with feedback."""
    rows = []
    for day in range(DAYS):
        for k in range(PER_DAY):
            n = day * PER_DAY + k
            topic = TOPICS[n % len(TOPICS)]
            t = FIRST_DAY + timedelta(days=day, hours=8 + 3 * k, minutes=n % 60)
            row = {"request_id": f"rq-{n:04d}", "timestamp": _iso(t), "user_id": f"person-{n % USERS:02d}",
                   "query": QUESTIONS[topic][n % 3], "response": ANSWERS[topic],
                   "latency_ms": 800 + 13 * (n % 50), "metadata": {"topic": topic}}
            if n % 4 == 0:
                row["feedback"] = {"thumbs": -1 if n % 8 == 0 else 1}
            if datetime(2026, 6, 2, tzinfo=timezone.utc) <= t < datetime(2026, 6, 29, tzinfo=timezone.utc):
                row.update(experiment_id="exp-short-answers", variant="short" if n % USERS % 2 else "control")
            rows.append(row)
    return rows


def write_logs(root: Path) -> None:
    _write_jsonl(root / "logs" / "2026-06.jsonl", log_rows())


def write_experiments(root: Path, empty: bool = False) -> None:
    """A pre-registration, assignments (CSV) and events (CSV), or the three folders empty."""
    for folder in ("experiments", "assignments", "events"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if empty:  # as exports come out empty: a header-only CSV, a 0-byte Parquet file
        (root / "assignments" / "none.csv").write_text("experiment_id,user_id,variant,assigned_at\n")
        (root / "events" / "none.parquet").write_bytes(b"")
        return
    (root / "experiments" / "short.yaml").write_text(
        "experiment_id: exp-short-answers\nhypothesis: Short answers lower thumbs-down.\nstart: 2026-06-02\n"
        "end: 2026-06-28\ncontrol: control\nvariants: {control: 0.5, short: 0.5}\nprimary_metrics: [thumbs_down_rate]\n"
        "guardrail_metrics:\n  - {metric: latency_ms, non_inferiority_margin: 200}\n"
        "minimum_detectable_effect: {thumbs_down_rate: 0.2}\nalpha: 0.05\npower: 0.8\nsequential: false\n")
    users = [f"person-{u:02d}" for u in range(USERS)]
    _write_csv(root / "assignments" / "assignments.csv", ["experiment_id", "user_id", "variant", "assigned_at"],
               [["exp-short-answers", u, "short" if i % 2 else "control", "2026-06-02T00:00:00Z"]
                for i, u in enumerate(users)])
    _write_csv(root / "events" / "events.csv", ["user_id", "timestamp", "event", "value"],
               [[u, f"2026-06-{2 + (i * 3) % 26:02d}T12:00:00Z", "purchase", f"{5 + i % 7}.5"]
                for i, u in enumerate(users * 2)])


def write_metrics(root: Path, empty: bool = False) -> None:
    (root / "metrics.yaml").write_text("" if empty else
                                       "metrics:\n  purchases: {kind: count, event: purchase, window_days: 14, "
                                       "higher_is_better: true}\n")


def write_pointwise_labels(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"kind": "pointwise", "item_id": f"rq-{n:04d}", "annotator_id": f"ann-{a}", "dimension": dim,
         "score": 1 + (n + a) % 5, "labeled_at": "2026-06-20T12:00:00Z"}
        for n in range(60, 100) for a in (1, 2) for dim in ("correctness", "relevance")]
    # Parquet, as a labelling tool's export; labeled_at a real timestamp column
    frame = pl.DataFrame(rows, schema={"kind": pl.String, "item_id": pl.String, "annotator_id": pl.String,
                                       "dimension": pl.String, "score": pl.Int64, "labeled_at": pl.String})
    (root / "human_labels").mkdir(parents=True, exist_ok=True)
    frame.with_columns(pl.col("labeled_at").str.to_datetime(time_zone="UTC")).write_parquet(
        root / "human_labels" / "pointwise.parquet")


def write_pairwise_labels(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"kind": "pairwise", "item_id": f"rq-{n:04d}", "variant_a": "baseline", "variant_b": "candidate-x",
         "annotator_id": f"ann-{a}", "winner": "ab"[(n + a) % 2] if n % 5 else "tie", "labeled_at": "2026-06-21T12:00:00Z"}
        for n in range(60, 90) for a in (1, 2)]
    _write_jsonl(root / "human_labels" / "pairwise.jsonl", rows)


def write_pointwise_judgments(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"kind": "pointwise", "item_id": f"rq-{n:04d}", "judge_model": "openai/gpt-4o-2024-08-06",
         "rubric_version": "rubric-v1", "dimension": "correctness", "score": 1 + n % 5, "judged_at": "2026-06-22T08:00:00Z"}
        for n in range(60, 100)]
    _write_jsonl(root / "judgments" / "pointwise.jsonl", rows)


def write_pairwise_judgments(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"kind": "pairwise", "item_id": f"rq-{n:04d}", "variant_a": "baseline", "variant_b": "candidate-x",
         "judge_model": "openai/gpt-4o-2024-08-06", "rubric_version": "rubric-v1", "position": pos,
         "winner": "ab"[n % 2], "judged_at": "2026-06-22T09:00:00Z"}
        for n in range(60, 90) for pos in ("ab", "ba")]
    path = root / "judgments" / "pairwise.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))


def write_candidate_responses(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"item_id": f"offline-{i}", "variant": variant, "query": QUESTIONS[topic][i % 3],
         "response": ANSWERS[topic] if variant == "baseline" else ANSWERS[topic] + " Ask me for details.",
         "latency_ms": 900 + i, "cost_usd": 0.0004}
        for i, topic in enumerate(TOPICS * 4) for variant in ("baseline", "candidate-x")]
    _write_jsonl(root / "candidate_responses" / "offline.jsonl", rows)
    # answers to the regression case, in CSV, without its prompt (the regression set holds it)
    _write_csv(root / "candidate_responses" / "regression" / "answers.csv", ["item_id", "variant", "response"],
               [] if empty else [["reverse-list", "baseline", "items[::-1] returns a reversed copy."],
                                 ["reverse-list", "candidate-x", "Sort it in reverse with items.sort(reverse=True)."]])


def write_regression_set(root: Path, empty: bool = False) -> None:
    rows = [] if empty else [
        {"case_id": "reverse-list", "query": "How do I reverse a list in Python?",
         "expected_behavior": "Mentions slicing with [::-1].", "must_contain": ["[::-1]"],
         "reason": "a wrong answer seen in production", "added_at": "2026-06-02"}]
    _write_jsonl(root / "regression_set.jsonl", rows)


OPTIONAL: dict[str, Callable[..., None]] = {
    "experiments": write_experiments,
    "metrics": write_metrics,
    "pointwise_labels": write_pointwise_labels,
    "pairwise_labels": write_pairwise_labels,
    "pointwise_judgments": write_pointwise_judgments,
    "pairwise_judgments": write_pairwise_judgments,
    "candidate_responses": write_candidate_responses,
    "regression_set": write_regression_set,
}


def build_source(root: Path, parts: tuple[str, ...] = (), empty: bool = False) -> Path:
    """logs/ plus the named optional parts (all of OPTIONAL for "all"), each full or empty."""
    write_logs(root)
    for name in OPTIONAL if parts == ("all",) else parts:
        OPTIONAL[name](root, empty=empty)
    return root
