"""Thin Dagster assets and checks; the logic lives in the `pipeline` package."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg


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
