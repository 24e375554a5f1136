"""Data contracts on loaded data, checked with Great Expectations 1.x (called directly).

The ingestion parser already rejects records that break the contract; this suite checks what
actually sits in the warehouse, independently, so a parser regression or a foreign writer is
caught before anything downstream reads the partition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.logs.ingest import NUMBER_LIMITS
from pipeline.warehouse import statement

if TYPE_CHECKING:
    import pandas as pd

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
    days: int = 1  # the daily partitions the rows cover

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
    batch = ctx.data_sources.add_pandas("warehouse").add_dataframe_asset("raw_logs").add_batch_definition_whole_dataframe("window")
    suite = ctx.suites.add(gx.ExpectationSuite(name="raw_logs_contract"))
    for column in ("request_id", "timestamp", "user_id", "response", "n_messages"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="request_id_in_day"))
    # the day's start is inclusive and its end exclusive
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="seconds_into_day", min_value=0,
                                                            max_value=86_400, strict_max=True))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="n_messages", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="thumbs", value_set=[-1, 0, 1]))
    for column, top in NUMBER_LIMITS.items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=top))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="non_finite_numbers", value_set=[0]))
    return ctx.validation_definitions.add(gx.ValidationDefinition(name="raw_logs_window", data=batch, suite=suite))


def validate_raw_logs_frame(frame: pd.DataFrame, label: str) -> PartitionValidation:
    """Run the raw_logs suite on rows of one or more days (columns as in sql/logs/contract_rows.sql)."""
    result = _raw_logs_validation().run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        outcomes.append(ExpectationOutcome(
            cfg.type, str(cfg.kwargs.get("column", "")), bool(r.success),
            int(r.result.get("unexpected_count") or 0),
            [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]]))
    days = int(frame["log_date"].nunique()) if "log_date" in frame and len(frame) else 0
    return PartitionValidation(label, len(frame), bool(result.success), dict(result.statistics), outcomes, days)


def validate_raw_logs_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[PartitionValidation]:
    """Validate the window's loaded rows in one pass; when that fails, validate each day of it
    again on its own, so the check's metadata names the partitions that break the contract."""
    frame = con.execute(statement("logs/contract_rows"), {"start": start, "end": end}).fetch_df()
    whole = validate_raw_logs_frame(frame, f"{start}..{end - timedelta(days=1)}")
    if whole.success:
        return [whole]
    import pandas as pd

    return [validate_raw_logs_frame(rows, str(pd.Timestamp(day).date())) for day, rows in frame.groupby("log_date", sort=True)]
