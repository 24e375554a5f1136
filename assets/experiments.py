"""Experiment analysis: user_metrics in DuckDB, then experiment_results and experiment_summary."""

import dagster as dg

from assets.logs import DUCKDB_POOL
from pipeline.experiments.analysis import analyze, build_user_metrics, write_results
from pipeline.experiments.metadata import results_metadata, user_metrics_metadata
from pipeline.experiments.registry import load_experiments, load_metrics
from pipeline.metadata import table_metadata
from pipeline.report.html import experiments_section, section_charts
from pipeline.resources import PiiResource, SourceResource, WarehouseResource


def _specs(context, source: SourceResource):
    metrics = load_metrics(source.root() / "metrics.yaml")
    loaded = load_experiments(source.root() / "experiments", metrics)
    for _, problem in loaded.rejects:
        context.log.error(f"experiment rejected: {problem}")
    return metrics, loaded


@dg.asset(deps=["clean_logs"], kinds={"duckdb"}, group_name="experiments", pool=DUCKDB_POOL,
          metadata=table_metadata("user_metrics"))
def user_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                 pii: PiiResource) -> dg.MaterializeResult:
    """Per experiment and user: exposure, metric numerators and denominators after exposure, and the pre-period."""
    metrics, loaded = _specs(context, source)
    with warehouse.connect() as con:
        run = build_user_metrics(con, loaded.experiments, metrics, source.root(), pii.anonymizer().hmac_pads(),
                                 log=context.log.info)
    for path, problem in run.unreadable_files:
        context.log.warning(f"{path}: could not be read, skipped ({problem}); see assignment_issues")
    for issue, users in run.issues.items():
        if issue == "unreadable_file":
            continue  # said above, file by file
        context.log.warning(f"assignments: {users:,} user(s) with issue {issue} (see assignment_issues)")
    for problem, events in run.event_rejects.items():
        context.log.warning(f"events: {events:,} row(s) rejected: {problem} (see event_rejects)")
    return dg.MaterializeResult(metadata=user_metrics_metadata(run, loaded.rejects))


@dg.multi_asset(specs=[dg.AssetSpec("experiment_results", deps=[user_metrics], kinds={"duckdb", "scipy"},
                                    group_name="experiments", metadata=table_metadata("experiment_results"),
                                    description="Per experiment, metric, treatment and analysis: effects with CIs, "
                                                "CUPED, sequential, Bayesian, guardrails, segments, power."),
                       dg.AssetSpec("experiment_summary", deps=[user_metrics], kinds={"duckdb"}, group_name="experiments",
                                    metadata=table_metadata("experiment_summary"),
                                    description="Per experiment: SRM, validity and the ship decision.")],
                pool=DUCKDB_POOL)
def experiment_analysis(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource):
    """Analyse every valid pre-registered experiment from user_metrics; write results and summaries."""
    metrics, loaded = _specs(context, source)
    with warehouse.connect() as con:
        results, summaries = analyze(con, loaded.experiments, metrics)
        write_results(con, results, summaries)
        charts = section_charts(experiments_section, con)
    meta = results_metadata(results, summaries)
    yield dg.MaterializeResult(asset_key="experiment_results", metadata={k: v for k, v in meta.items() if k != "decisions"})
    yield dg.MaterializeResult(asset_key="experiment_summary", metadata={
        "dagster/row_count": len(summaries), "decisions": meta["decisions"],
        "effects": dg.MetadataValue.md("\n\n".join(charts) or "no effects"),
        "invalid": [s["experiment_id"] for s in summaries if s["decision"] == "invalid"]})


@dg.asset_check(asset="experiment_summary", pool=DUCKDB_POOL,
                description="Sample ratio mismatch: p < 0.001 against the pre-registered allocation marks the experiment "
                            "invalid; its results stay flagged (srm_invalid) and draw no decision.")
def experiment_srm(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        rows = con.execute("select experiment_id, srm_p_value from experiment_summary where srm_invalid").fetchall()
    return dg.AssetCheckResult(passed=not rows, severity=dg.AssetCheckSeverity.WARN, metadata={
        "invalid_experiments": [eid for eid, _ in rows], "srm_p_values": {eid: p for eid, p in rows}})
