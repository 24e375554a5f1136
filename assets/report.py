"""The weekly report: one self-contained HTML page under EVALFUNNEL_HOME/report/."""

import dagster as dg

from assets.logs import DUCKDB_POOL
from pipeline.report.html import build_report, write_report
from pipeline.resources import JudgeResource, WarehouseResource


class ReportConfig(dg.Config):
    baseline: str = "baseline"


@dg.asset(deps=["calibration_history", "calibration_forecast", "experiment_summary", "variant_ratings",
                "pareto_frontier", "regression_results", "candidate_scores", "eval_set", "ppi_estimates"],
          kinds={"html"}, group_name="report", pool=DUCKDB_POOL)
def report(context: dg.AssetExecutionContext, config: ReportConfig, warehouse: WarehouseResource,
           judge: JudgeResource) -> dg.MaterializeResult:
    """Calibration trend, offline vs online, experiments, ratings and Pareto, eval set and slices, outputs to read."""
    version = judge.version()
    with warehouse.connect(read_only=True) as con:
        built = build_report(con, version, baseline=config.baseline)
    path = write_report(built, warehouse.path.parent / "report")
    context.log.info(f"report written to {path} ({built.charts} charts)")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)), "url": dg.MetadataValue.url(path.as_uri()), "charts": built.charts,
        "size_kb": round(len(built.html) / 1024, 1), "sections": list(built.sections)})
