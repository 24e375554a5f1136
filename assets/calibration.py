"""Calibration: human_labels; judge_human_agreement, judge_drift, label_queue and ppi_estimates per
month; offline_online and its correlation per quarter."""

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from assets import check_per_partition, per_partition
from assets.logs import DUCKDB_POOL
from pipeline.calibration.consensus import (
    agreement_rows,
    agreement_table,
    rebuild_history,
    store_agreement,
)
from pipeline.calibration.drift import (
    drift_table,
    drifted_in,
    rescored_rows,
    residual_rows,
    store_drift,
)
from pipeline.calibration.forecast import forecast_rows, forecast_table, store_forecast
from pipeline.calibration.human_labels import load_labels, store_labels
from pipeline.calibration.prediction_powered import (
    QueueSettings,
    build_queue,
    ppi_rows,
    ppi_summary,
    ppi_table,
    store_estimates,
)
from pipeline.calibration.offline_online import (
    build_offline_online,
    correlation_rows,
    correlation_table,
    experiment_counts,
    store_correlation,
)
from pipeline.experiments.registry import load_metrics
from pipeline.judge.budget import spending
from pipeline.judge.candidates import load_scores
from pipeline.metadata import md_list, records_table, table_metadata
from pipeline.partitions import monthly, quarterly, window_dates
from pipeline.progress import ProgressLog
from pipeline.report.html import calibration_section, offline_online_section, section_charts
from pipeline.resources import JudgeResource, SourceResource, WarehouseResource


@dg.asset(kinds={"duckdb"}, group_name="calibration", pool=DUCKDB_POOL, metadata=table_metadata("human_labels"))
def human_labels(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                 judge: JudgeResource) -> dg.MaterializeResult:
    """Pointwise and pairwise human labels, validated against the judge's rubric; a repeated label keeps the
    latest; rejects in label_rejects."""
    load = load_labels(source.root() / "human_labels", judge.load_rubric())
    for name, line, reason in load.rejects[:20]:
        context.log.warning(f"label rejected: {name} line {line}: {reason}")
    if not load.reconciles():
        raise RuntimeError(f"human_labels: {load.read} read != {len(load.rows)} kept + {len(load.rejects)} rejected "
                           f"+ {load.superseded} superseded")
    with warehouse.connect() as con:
        store_labels(con, load)
        months = dict(con.execute("select strftime(labeled_at, '%Y-%m'), count(*) from human_labels "
                                  "group by 1 order by 1").fetchall())
    kinds = load.rows.group_by("kind").len().rows()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(load.rows), "read": load.read, "rejected": len(load.rejects),
        "superseded": load.superseded, "per_kind": dict(kinds), "per_month": months,
        "annotators": load.rows.get_column("annotator_id").n_unique() if len(load.rows) else 0})


@dg.asset(partitions_def=monthly, deps=[human_labels, "judge_scores", "pairwise_judgments"], kinds={"duckdb", "scipy"},
          group_name="calibration", pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("judge_human_agreement"))
def judge_human_agreement(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                          judge: JudgeResource) -> dg.MaterializeResult:
    """Per month, judge version and dimension (and topic): agreement, kappas (on the rubric's scale), alpha,
    Spearman with CIs, and a status; pairwise: agreement with the human majority (combined and per order),
    position consistency, annotator-pair and Fleiss' kappas."""
    all_rows, months, t0 = [], {}, time.perf_counter()
    keys = context.partition_keys
    rubric = judge.load_rubric()
    with warehouse.connect() as con:
        for n, key in enumerate(keys, 1):
            start, end = window_dates(monthly.time_window_for_partition_key(key))
            rows = agreement_rows(con, start, end, scale=(rubric.low, rubric.high), log=context.log.debug)
            store_agreement(con, start, rows)
            all_rows += rows
            months[key] = rows
            eta = (time.perf_counter() - t0) / n * (len(keys) - n)
            context.log.info(f"judge_human_agreement {key[:7]}: {len(rows)} row(s) ({n}/{len(keys)} months, ETA {eta:.0f}s)")
    flagged = sorted({(str(r["month"])[:7], r["judge_version"], r["status"]) for r in all_rows
                      if r["status"] in ("recalibrate", "rubric_vague") and r["slice_dimension"] is None})
    for month, version, state in flagged:
        context.log.warning(f"{month}: {version} needs attention: {state}")
    # one run may cover several months (a single-run backfill): each month gets its own rows
    per_partition(context, {key: {
        "dagster/row_count": len(rows),
        "flagged": records_table([{"judge version": v, "status": s} for m, v, s in flagged if m == key[:7]]),
        "preview": records_table(agreement_table(rows), empty="no labelled items this month")}
        for key, rows in months.items()})
    return dg.MaterializeResult(metadata={"run_months": len(keys)})


@dg.asset(partitions_def=monthly, deps=[human_labels, "judge_scores"], kinds={"duckdb", "scipy", "litellm"},
          group_name="calibration", pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("judge_drift"))
def judge_drift(context: dg.AssetExecutionContext, warehouse: WarehouseResource, judge: JudgeResource) -> dg.MaterializeResult:
    """Per month, judge version and dimension: the anchor set re-scored by the current judge (rescored) and the
    judge-minus-human residual (residual), each against its anchor, with CI, test and a drifted flag."""
    rubric = judge.load_rubric()
    all_rows, months, t0, keys = [], {}, time.perf_counter(), context.partition_keys
    journal = warehouse.path.parent / "judge-journal" / "anchors.jsonl"
    with warehouse.connect() as con, spending(context, judge, con, "judge_drift"):
        for n, key in enumerate(keys, 1):
            start, _ = window_dates(monthly.time_window_for_partition_key(key))
            rows = residual_rows(con, start)
            rows += rescored_rows(con, start, judge.settings(), rubric, journal,
                                  progress=ProgressLog("judge_drift anchors", context.log.info, unit="judgments"),
                                  log=context.log.info)
            store_drift(con, start, rows, ("residual", "rescored"))
            all_rows += rows
            months[key] = rows
            eta = (time.perf_counter() - t0) / n * (len(keys) - n)
            context.log.info(f"judge_drift {key[:7]}: {len(rows)} row(s) ({n}/{len(keys)} months, ETA {eta:.0f}s)")
    moved = [r for r in all_rows if r["drifted"]]
    for r in moved:
        context.log.warning(f"judge drift {str(r['month'])[:7]} {r['judge_version']} {r['dimension']} ({r['method']}): "
                            f"shift {r['shift']:+.2f} [{r['shift_ci_low']:+.2f}, {r['shift_ci_high']:+.2f}]")
    # one run may cover several months (a single-run backfill): each month gets its own rows
    per_partition(context, {key: {
        "dagster/row_count": len(rows), "drifted": sum(bool(r["drifted"]) for r in rows),
        "preview": records_table(drift_table(rows), empty="no drift rows this month")} for key, rows in months.items()})
    return dg.MaterializeResult(metadata={"run_months": len(keys)})


@dg.asset_check(asset=judge_drift, pool=DUCKDB_POOL, partitions_def=monthly,
                description="WARN when a judge version moved beyond the threshold since its anchor (|shift| >= 0.5 "
                            "points with a 95% interval excluding zero) - how a silent provider model update is caught.")
def judge_drift_check(context: dg.AssetCheckExecutionContext,
                      warehouse: WarehouseResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One result per month of the run (a range run included), each naming that month's drifted rows."""
    moved = {}
    with warehouse.connect(read_only=True) as con:
        for key in context.partition_keys:
            moved[key] = drifted_in(con, *window_dates(monthly.time_window_for_partition_key(key)))
    yield from check_per_partition(context, {
        key: dg.AssetCheckResult(passed=not rows, severity=dg.AssetCheckSeverity.WARN,
                                 metadata={"drifted_rows": len(rows), "drifted": rows or "none"})
        for key, rows in moved.items()})


class LabelQueueConfig(dg.Config):
    """How many items a month's queue asks people to label, and how it spends them."""

    budget: float = 100.0  # expected items to label a month (the inclusion probabilities' sum); 0: no queue
    floor: float = 0.2  # the share of the budget spread uniformly: every item keeps a chance
    threshold: float = 3.0  # the decision threshold on the rubric's scale; scores near it are uncertain
    near: float = 0.5  # how close to the threshold counts as near
    judge_version: str = ""  # the judge version to serve; '' picks the one that scored the most (not the heuristic)
    redraw: bool = False  # draw a month again; refused once labels of the drawn queue have come back


@dg.asset(partitions_def=monthly, deps=[human_labels, "judge_scores", "pairwise_judgments", judge_human_agreement],
          kinds={"duckdb", "numpy"}, group_name="calibration", pool=DUCKDB_POOL,
          backfill_policy=dg.BackfillPolicy.single_run(), metadata=table_metadata("label_queue"))
def label_queue(context: dg.AssetExecutionContext, config: LabelQueueConfig,
                warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per month: the judged, unlabelled logged responses people should label next, each with the probability it
    was drawn with (a uniform floor plus a share proportional to the judge's expected error: low agreement on a
    dimension or topic, scores near the decision threshold, pairwise verdicts that flipped with the order), and a
    file a labelling tool imports (EVALFUNNEL_HOME/label_queue/label-queue-YYYY-MM.csv and .jsonl). A drawn month
    is kept (redraw=True draws it again)."""
    settings = QueueSettings(config.budget, config.floor, config.threshold, config.near, config.judge_version)
    try:
        settings.check()
    except ValueError as exc:  # before any work, with the setting's name
        raise dg.Failure(str(exc)) from None
    out_dir = Path(warehouse.home) / "label_queue"
    queues, keys, t0 = {}, context.partition_keys, time.perf_counter()
    with warehouse.connect() as con:
        for n, key in enumerate(keys, 1):
            start, end = window_dates(monthly.time_window_for_partition_key(key))
            queue = build_queue(con, start, end, settings, out_dir, redraw=config.redraw)
            queues[key] = queue
            eta = (time.perf_counter() - t0) / n * (len(keys) - n)
            context.log.info(f"label_queue {key[:7]}: {queue.selected} of {queue.pool:,} item(s) selected"
                             + (" (the queue drawn before is kept)" if queue.kept else "")
                             + f" ({n}/{len(keys)} months, ETA {eta:.0f}s)")
    per_partition(context, {key: {
        "dagster/row_count": q.pool, "selected": q.selected, "budget": q.budget, "kept_earlier_draw": q.kept,
        "judge_version": q.judge_version or "none", "reasons": q.reasons,
        "files": md_list([str(p) for p in q.files])} for key, q in queues.items()})
    return dg.MaterializeResult(metadata={"run_months": len(keys)})


@dg.asset(partitions_def=monthly, deps=[human_labels, "judge_scores", label_queue], kinds={"duckdb", "scipy"},
          group_name="calibration", pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("ppi_estimates"))
def ppi_estimates(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per month, judge version, variant (and all variants), dimension and topic with enough labels: the mean human
    score estimated from the judge's scores on every item corrected by the labelled items (PPI++, power-tuned; labels
    from the label queue weighted by their inclusion probabilities), beside the humans-only and judge-only means,
    and the human labels the judge is worth; paired differences between variants on the same items."""
    months, keys, t0 = {}, context.partition_keys, time.perf_counter()
    with warehouse.connect() as con:
        for n, key in enumerate(keys, 1):
            start, end = window_dates(monthly.time_window_for_partition_key(key))
            rows = ppi_rows(con, start, end, log=context.log.debug)
            store_estimates(con, start, rows)
            months[key] = rows
            eta = (time.perf_counter() - t0) / n * (len(keys) - n)
            context.log.info(f"ppi_estimates {key[:7]}: {len(rows)} estimate(s) ({n}/{len(keys)} months, ETA {eta:.0f}s)")
    per_partition(context, {key: {
        **ppi_summary(rows), "preview": records_table(ppi_table(rows), empty="no month with enough labelled items")}
        for key, rows in months.items()})
    return dg.MaterializeResult(metadata={"run_months": len(keys)})


@dg.asset(partitions_def=quarterly, deps=["experiment_results", "experiment_summary", "judge_scores"],
          kinds={"duckdb"}, group_name="calibration", pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("offline_online"))
def offline_online(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per experiment that ended in the quarter, treatment, judge version, dimension and metric: the judge delta
    (CI clustered by user) next to the online effect."""
    quarters = {}
    with warehouse.connect() as con:
        for key in context.partition_keys:
            start, end = window_dates(quarterly.time_window_for_partition_key(key))
            written = build_offline_online(con, start, end, log=context.log.warning)
            context.log.info(f"offline_online {key}: {written} row(s)")
            experiments, invalid = experiment_counts(con, [start])
            quarters[key] = {"dagster/row_count": written, "experiments": experiments, "srm_invalid_experiments": invalid}
    # one run may cover several quarters (a single-run backfill): each quarter gets its own counts
    per_partition(context, quarters)
    return dg.MaterializeResult(metadata={"run_quarters": len(quarters)})


@dg.asset(partitions_def=quarterly, deps=[offline_online], kinds={"duckdb", "scipy"}, group_name="calibration",
          pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("offline_online_correlation"))
def offline_online_correlation(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                               judge: JudgeResource) -> dg.MaterializeResult:
    """Across every experiment-variant pair to the quarter's end: correlations with CIs, sign agreement, the
    calibration fit, status and the largest mismatches; request-level AUC for thumbs-down and regeneration."""
    quarters = {}
    version = judge.version()
    with warehouse.connect() as con:
        for key in context.partition_keys:
            start, end = window_dates(quarterly.time_window_for_partition_key(key))
            rows = correlation_rows(con, end)
            store_correlation(con, start, rows)
            context.log.info(f"offline_online_correlation {key}: {len(rows)} row(s)")
            quarters[key] = {
                "dagster/row_count": len(rows), "predictive": sum(r["status"] == "predictive" for r in rows),
                "mismatches": md_list(m for r in rows for m in r["mismatches"][:1]),
                "preview": records_table(correlation_table(rows), empty="no pairs to this quarter's end")}
        charts = section_charts(offline_online_section, con, version)
    # one run may cover several quarters (a single-run backfill): each quarter gets its own rows
    per_partition(context, quarters)
    return dg.MaterializeResult(metadata={
        # the chart is of every pair to date, whichever quarters this run computed
        "offline_vs_online": dg.MetadataValue.md("\n\n".join(charts) or "no pairs yet")})


@dg.asset(deps=[judge_human_agreement, judge_drift, offline_online_correlation], kinds={"duckdb"},
          group_name="calibration", pool=DUCKDB_POOL, metadata=table_metadata("calibration_history"))
def calibration_history(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per month and per quarter per judge version: agreement, drift and offline-online figures,
    rebuilt whole from the calibration tables (so a re-run or a backfill never duplicates a period)."""
    with warehouse.connect() as con:
        history = rebuild_history(con)
        charts = section_charts(calibration_section, con)
    rows, flagged = history.periods, history.needs_attention
    context.log.info(f"calibration_history: {', '.join(f'{n} {p} row(s) {lo}..{hi}' for p, n, lo, hi in rows)}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(n for _, n, _, _ in rows), **{f"{p}_rows": n for p, n, _, _ in rows},
        "needs_attention": records_table([{"month": m, "judge version": v, "recalibrate": ", ".join(r),
                                           "drifted": ", ".join(d)} for m, v, r, d in flagged]),
        "calibration_trend": dg.MetadataValue.md("\n\n".join(charts) or "no calibration rows yet")})


class ForecastConfig(dg.Config):
    """The variant every candidate is compared with (as in pairwise judging)."""

    baseline: str = "baseline"


@dg.asset(deps=["candidate_scores", offline_online_correlation], kinds={"duckdb", "scipy"},
          group_name="calibration", pool=DUCKDB_POOL, metadata=table_metadata("calibration_forecast"))
def calibration_forecast(context: dg.AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource,
                         source: SourceResource, judge: JudgeResource) -> dg.MaterializeResult:
    """Per candidate with offline scores only, dimension and metric: the predicted online effect from the latest
    calibration fit, with a prediction interval, and the users per arm an experiment needs to detect it."""
    metrics = load_metrics(source.root() / "metrics.yaml")
    version = judge.version()
    with warehouse.connect() as con:
        rows = forecast_rows(con, version, load_scores(con, version), config.baseline, metrics)
        store_forecast(con, version, rows)
    usable = [r for r in rows if r["fit_status"] == "predictive"]
    if not usable:
        # the step's name prefixes the line wherever it is shown (the CLI's warnings, the run's logs)
        context.log.warning("no predictive calibration fit yet; forecasts carry weak fits' wide intervals")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows), "judge_version": version, "predictive_rows": len(usable),
        "candidates": sorted({r["candidate"] for r in rows}),
        "preview": records_table(forecast_table(usable or rows), empty="no forecasts")})
