"""Data contracts on loaded data, checked with Great Expectations 1.x (called directly).

The ingestion parser already rejects records that break the contract; this suite checks what
actually sits in the warehouse, independently, so a parser regression or a foreign writer is
caught before anything downstream reads the partition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from pipeline.warehouse import statement

# GX announces every metric it computes; the check's metadata says what matters
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    unexpected_count: int
    sample: list[Any]


@dataclass(frozen=True)
class PartitionValidation:
    partition: str
    rows: int
    success: bool
    statistics: dict[str, float]
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


@cache
def _raw_logs_validation():
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = ctx.data_sources.add_pandas("warehouse").add_dataframe_asset("raw_logs").add_batch_definition_whole_dataframe("partition")
    suite = ctx.suites.add(gx.ExpectationSuite(name="raw_logs_contract"))
    for column in ("request_id", "timestamp", "user_id", "response", "n_messages"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="request_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="timestamp", min_value={"$PARAMETER": "partition_start"}, max_value={"$PARAMETER": "partition_end"},
        strict_max=True))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="n_messages", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="thumbs", value_set=[-1, 0, 1]))
    for column in ("latency_ms", "cost_usd", "input_tokens", "output_tokens"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0))
    return ctx.validation_definitions.add(gx.ValidationDefinition(name="raw_logs_partition", data=batch, suite=suite))


def validate_raw_logs_partition(frame: pd.DataFrame, partition: str, start: datetime, end: datetime) -> PartitionValidation:
    """Run the raw_logs suite on one partition's rows (columns as in sql/logs/contract_rows.sql)."""
    result = _raw_logs_validation().run(
        batch_parameters={"dataframe": frame},
        expectation_parameters={"partition_start": start, "partition_end": end},
        result_format="SUMMARY")
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        outcomes.append(ExpectationOutcome(
            cfg.type, str(cfg.kwargs.get("column", "")), bool(r.success),
            int(r.result.get("unexpected_count") or 0),
            [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]]))
    return PartitionValidation(partition, len(frame), bool(result.success), dict(result.statistics), outcomes)


def validate_raw_logs_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[PartitionValidation]:
    """Validate each loaded day in [start, end) separately, as the contract is per partition."""
    frame = con.execute(statement("logs/contract_rows"), {"start": start, "end": end}).fetch_df()
    validations = []
    for day, rows in frame.groupby("log_date", sort=True):
        lo = datetime.combine(day, time.min, tzinfo=UTC)
        validations.append(validate_raw_logs_partition(rows, str(day), lo, lo + timedelta(days=1)))
    return validations
