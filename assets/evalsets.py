"""Eval sets: the regression set, the quarterly stratified eval_set, and their checks."""

from collections.abc import Iterator
from datetime import date

import dagster as dg

from assets import check_per_partition, per_partition
from assets.logs import DUCKDB_POOL
from pipeline.evalsets import metadata as evalset_report
from pipeline.evalsets.sampling import EvalSetConfig
from pipeline.evalsets.versions import (
    build_eval_set,
    eval_set_drift,
    eval_set_residue,
    load_regression_set,
)
from pipeline.metadata import table_metadata
from pipeline.partitions import quarterly, window_dates
from pipeline.resources import PiiResource, SourceResource, WarehouseResource

_DEFAULTS = EvalSetConfig()  # one source of truth for the defaults


class EvalSetRunConfig(dg.Config):
    """Knobs for one eval-set build (see pipeline.evalsets.sampling.EvalSetConfig)."""

    size: int = _DEFAULTS.size
    lookback_days: int = _DEFAULTS.lookback_days
    strata: list[str] = list(_DEFAULTS.strata)
    head_share: float = _DEFAULTS.head_share
    failure_share: float = _DEFAULTS.failure_share
    edge_share: float = _DEFAULTS.edge_share
    min_per_stratum: int = _DEFAULTS.min_per_stratum
    near_duplicate_jaccard: float = _DEFAULTS.near_duplicate_jaccard
    seed: int = _DEFAULTS.seed
    drift_threshold: float = 0.10

    def sampling(self) -> EvalSetConfig:
        fields = self.model_dump(exclude={"drift_threshold"})
        return EvalSetConfig(**{**fields, "strata": tuple(self.strata)})


@dg.asset(kinds={"duckdb"}, group_name="evalsets", pool=DUCKDB_POOL, metadata=table_metadata("regression_set"))
def regression_set(warehouse: WarehouseResource, source: SourceResource) -> dg.MaterializeResult:
    """Curated known failures from regression_set.jsonl, versioned by content hash."""
    with warehouse.connect() as con:
        load = load_regression_set(con, source.root() / "regression_set.jsonl")
    return dg.MaterializeResult(metadata=evalset_report.regression_metadata(load))


def _quarters(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[tuple[date, date]]:
    """Each quarter of the run's partition window, as [start, end) dates."""
    return [window_dates(quarterly.time_window_for_partition_key(k)) for k in context.partition_keys]


@dg.asset(partitions_def=quarterly, deps=["clean_logs", regression_set], kinds={"duckdb", "polars"},
          group_name="evalsets", pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("eval_set"))
def eval_set(context: dg.AssetExecutionContext, config: EvalSetRunConfig, warehouse: WarehouseResource,
             pii: PiiResource) -> dg.MaterializeResult:
    """Stratified eval set from the quarter's last 90 days of clean_logs: head, known failures, edge cases."""
    results = []
    with warehouse.connect() as con:
        for quarter, end in _quarters(context):
            results.append(build_eval_set(con, quarter, end, config.sampling(), names=pii.names()))
            context.log.info(f"eval set {quarter}: version {results[-1].version_id}, {results[-1].items} items")
    # one run may build several quarters (a single-run backfill): each quarter gets its own build
    per_partition(context, {k: evalset_report.build_metadata(r)
                            for k, r in zip(context.partition_keys, results, strict=True)})
    return dg.MaterializeResult(metadata=evalset_report.builds_metadata(results))


@dg.asset_check(asset=eval_set, blocking=True, partitions_def=quarterly, name="no_pii_residue", pool=DUCKDB_POOL,
                description="Re-scans every text of the eval set with the independent detector; any PII left fails.")
def eval_set_no_pii_residue(context: dg.AssetCheckExecutionContext,
                            warehouse: WarehouseResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One result per quarter of the run (a range run included): that quarter's eval set, scanned on its own."""
    results = {}
    with warehouse.connect(read_only=True) as con:
        for key, (quarter, _) in zip(context.partition_keys, _quarters(context), strict=True):
            texts, residue = eval_set_residue(con, quarter)
            results[key] = dg.AssetCheckResult(passed=not residue, metadata={
                "texts_scanned": texts, "residue_found": sum(residue.values()),
                "residue_by_type": dict(residue) or "none"})
    yield from check_per_partition(context, results)


@dg.asset_check(asset=eval_set, partitions_def=quarterly, pool=DUCKDB_POOL,
                description="Total variation distance between the eval set's strata mix and the last 30 days of production.")
def eval_set_drift_check(context: dg.AssetCheckExecutionContext, config: EvalSetRunConfig,
                         warehouse: WarehouseResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One result per quarter of the run (a range run included): that quarter's eval set against the latest
    30 days of production, as a run of that quarter alone would compare it."""
    results = {}
    with warehouse.connect(read_only=True) as con:
        for key, (quarter, _) in zip(context.partition_keys, _quarters(context), strict=True):
            report = eval_set_drift(con, quarter, tuple(config.strata))
            results[key] = dg.AssetCheckResult(passed=report.tvd <= config.drift_threshold,
                                               severity=dg.AssetCheckSeverity.WARN,
                                               metadata=evalset_report.drift_metadata(report, config.drift_threshold))
    yield from check_per_partition(context, results)
