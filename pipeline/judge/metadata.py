"""What the judging assets tell a person: metadata for the Dagster UI."""

from __future__ import annotations

from pipeline.judge.pairwise import PairwiseRun
from pipeline.judge.regression_eval import RegressionRun
from pipeline.judge.scores import ScoreRun
from pipeline.metadata import records_table


def estimate_metadata(estimate) -> dict[str, object]:
    """The dry-run estimate of what is not cached yet (cost None when no price is known)."""
    return {"estimated_calls": estimate.tasks, "estimated_input_tokens": estimate.input_tokens,
            "estimated_output_tokens": estimate.output_tokens,
            "estimated_cost_usd": round(estimate.cost_usd, 6) if estimate.price_known else "unknown (no price)"}


def length_bias_table(bias: dict[str, float]):
    """Spearman(score, response length) per dimension; judges that reward length show positive values."""
    return records_table([{"dimension": d, "Spearman(score, length)": rho} for d, rho in bias.items()])


def samples_metadata(samples: list[dict]) -> dict[str, object]:
    """experiment_samples for one month: the requests sampled per experiment arm, of how many."""
    return {"dagster/row_count": sum(s["sampled"] for s in samples),
            "samples": records_table(samples, empty="no experiment traffic in this month")}


def score_metadata(run: ScoreRun, model: str) -> dict[str, object]:
    statuses = run.statuses
    summary = run.run.summary if run.run else None
    new = sum(summary.by_status.values()) if summary else 0
    judged = statuses.get("ok", 0) + statuses.get("parse_failed", 0)
    return {
        "judge_model": model,
        "judge_version": run.judge_version,
        "items": run.items,
        "cache_hits": run.run.cache_hits if run.run else 0,
        "recovered_from_journal": run.run.recovered if run.run else 0,
        "new_judgments": new,
        "model_calls": summary.calls if summary else 0,
        "retries": summary.retries if summary else 0,
        "repaired": summary.repaired if summary else 0,
        "statuses": dict(statuses),
        "parse_failure_rate": round(statuses.get("parse_failed", 0) / judged, 4) if judged else 0.0,
        "cost_usd": round(summary.cost_usd, 6) if summary else 0.0,
        **(estimate_metadata(run.run.estimate) if run.run and run.run.estimate else {}),
        "seconds": round(summary.seconds, 2) if summary else 0.0,
        "mean_scores": records_table([{"dimension": d, "mean": m} for d, m in run.dimension_means.items()]),
        "imported_rows": run.imported, "imported_pairwise": run.imported_pairwise,
        # imported pairwise verdicts go to pairwise_judgments, whose own asset counts them in its row_count
        "also_wrote": records_table([{"table": "pairwise_judgments", "origin": "imported",
                                      "rows": run.imported_pairwise}]),
        "import_rejects": records_table([{"file": f, "line": line, "reason": reason}
                                         for f, line, reason in run.import_rejects[:20]]),
    }


def pairwise_metadata(run: PairwiseRun, model: str,
                      table_rows: list[tuple[str, str, int]]) -> dict[str, dict[str, object]]:
    """Metadata for pairwise_judgments, variant_ratings and pareto_frontier. `table_rows` is what
    pairwise_judgments holds after the run, as (origin, judge_version, rows): the pipeline's
    verdicts of every judge version so far, and the imported ones judge_scores writes (origin
    imported). Its row_count is the table's, like every table asset's; `judged_this_run` is the
    run's own share."""
    statuses = {}
    if run.run:
        for r in run.run.results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    summary = run.run.summary if run.run else None
    consistency = run.consistency
    ratings = [{"variant": r.variant, "length-controlled": r.length_controlled, "rating": round(r.rating),
                "95% CI": f"{r.ci_low:.0f}-{r.ci_high:.0f}",
                "win rate vs baseline": None if r.win_rate_vs_baseline is None else round(r.win_rate_vs_baseline, 2),
                "comparisons": r.n_comparisons} for r in run.ratings]
    frontier = [{"variant": f["variant"], "rating": round(f["quality"]),
                 "cost/request (USD)": round(f["cost_per_request"] or 0, 6),
                 "p95 latency (ms)": round(f["latency_p95_ms"] or 0), "on frontier": bool(f["on_frontier"])}
                for f in run.frontier]
    return {
        "judgments": {"dagster/row_count": sum(n for *_, n in table_rows),
                      "rows_by_origin": records_table([{"origin": o, "judge version": v, "rows": n}
                                                       for o, v, n in table_rows], empty="the table is empty"),
                      "judged_this_run": run.tasks, "judge_model": model, "judge_version": run.judge_version,
                      "statuses": statuses, "cache_hits": run.run.cache_hits if run.run else 0,
                      "model_calls": summary.calls if summary else 0, "cost_usd": round(summary.cost_usd, 6) if summary else 0.0,
                      "position_consistency": round(consistency.rate, 4) if consistency and consistency.pairs else "n/a",
                      "pairs_judged_in_both_orders": consistency.pairs if consistency else 0},
        "ratings": {"dagster/row_count": len(run.ratings), "ratings": records_table(ratings)},
        "frontier": {"dagster/row_count": len(run.frontier), "frontier": records_table(frontier)},
    }


def regression_metadata(run: RegressionRun) -> dict[str, object]:
    rates = run.pass_rates()
    regressions = run.regressions()
    table = [{"variant": v, "passed": ok, "cases": n, "fails where the baseline passes": ", ".join(regressions.get(v, [])) or "-"}
             for v, (ok, n) in sorted(rates.items())]
    return {"baseline": run.baseline, "judge_version": run.judge_version or "not needed (all cases have checks)",
            "candidates_with_regressions": len(regressions), "pass_rates": records_table(table)}
