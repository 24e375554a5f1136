"""Thin Dagster assets and checks; the logic lives in the `pipeline` package."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping

import dagster as dg

# Dagster's warnings about APIs these modules use on purpose, silenced before any asset below is
# defined, whatever imports them first (`import assets.logs` in a test or a notebook loads this
# package, not pipeline.definitions). The same filters, with the same reasons, are in
# pipeline/definitions.py; each is filtered by its category and message, so any other warning shows.
# - BetaWarning "Parameter `backfill_policy` of function `asset`": single-run backfills (one run
#   reads each source file once over a range) are how `evalfunnel run` and the UI backfill; 1.13
#   has no stable alternative on @asset (the same policy on @multi_asset carries no warning).
# - PreviewWarning "Specifying a partitions_def on an AssetCheckSpec": the blocking checks check
#   each partition's own rows (no_pii_residue on a day, drift on a month); an unpartitioned check
#   would re-check the whole table on every partition. No stable alternative in 1.13.
# - DeprecationWarning "Parameter `partitions_def` of function `define_asset_job`": redundant
#   (inferred from the selection) but pipeline.cli, jobs.partition_range and the log sensor read
#   `job.partitions_def` from the unresolved jobs; drop it together with those reads.
for _category, _message in ((dg.BetaWarning, r"Parameter `backfill_policy` of function `asset`"),
                            (dg.PreviewWarning, r"Specifying a partitions_def on an AssetCheckSpec"),
                            (DeprecationWarning, r"Parameter `partitions_def` of function `define_asset_job`")):
    warnings.filterwarnings("ignore", message=_message, category=_category)


def per_partition(context: dg.AssetExecutionContext, figures: Mapping[str, Mapping[str, object]],
                  asset_key: str | None = None) -> None:
    """Each partition's own figures on its own materialization event.

    A single-run backfill materializes many partitions in one step; what the step returns is
    stamped on every one of them, so counts there would show the window's totals on each day.
    Dagster merges metadata added here for one partition key over that, for that key only."""
    for key, meta in figures.items():
        rows = meta.get("dagster/row_count")
        extra = {"dagster/partition_row_count": rows} if isinstance(rows, int) else {}
        context.add_asset_metadata({**meta, **extra}, asset_key=asset_key, partition_key=key)


def _latest_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: list[str]) -> dict[str, object]:
    """Each partition's latest materialization record (the one its check result is about)."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=keys),
                                              limit=len(keys)).records  # newest first: usually one per key
    latest: dict[str, object] = {}
    for record in records:
        latest.setdefault(record.partition_key, record)
    for key in set(keys) - set(latest):
        found = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]),
                                                limit=1).records
        if found:
            latest[key] = found[0]
    return latest


def check_per_partition(context: dg.AssetCheckExecutionContext,
                        results: Mapping[str, dg.AssetCheckResult]) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """A partitioned check's result for each partition of the run, each with that partition's own figures.

    A run over a partition range (`evalfunnel run`/`backfill`, a single-run backfill from the UI)
    plans the check for every partition in it, but Dagster 1.13 turns a returned AssetCheckResult
    into one evaluation with partition=None whenever the step has no single partition key
    (AssetCheckResult.to_asset_check_evaluation: `step_context.partition_key if
    step_context.has_partition_key ... else None`), and AssetCheckResult takes no partition. That
    record resolves none of the planned ones, so the UI showed every partition of the range
    SKIPPED. An AssetCheckEvaluation with `partition=key`, yielded by the check itself, is stored
    against that key's planned record (SqlEventLogStorage._update_asset_check_evaluation matches on
    asset, check, run and partition), as Dagster does for a one-partition run. It carries what
    to_asset_check_evaluation would add: the check's `blocking` (a failed blocking ERROR
    evaluation still fails the step and blocks what depends on it) and the partition's latest
    materialization (without it the result would not count as current for that partition)."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,  # no public name in 1.13
    )

    [spec] = context.check_specs
    keys = list(context.partition_keys)
    if set(results) != set(keys):
        raise ValueError(f"{spec.name}: results for {sorted(results)}, but the run covers {keys}")
    targets = _latest_materializations(context.instance, spec.asset_key, keys)
    for key in keys:
        result, target = results[key], targets.get(key)
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=result.passed, metadata=result.metadata,
            severity=result.severity, description=result.description, blocking=spec.blocking, partition=key,
            target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
                storage_id=target.storage_id, run_id=target.run_id, timestamp=target.timestamp) if target else None)
    yield dg.Output(None)  # the check's own output, which a result would have produced
