"""Data contracts on loaded data: a Great Expectations suite, evaluated in DuckDB.

The ingestion parser already rejects records that break the contract; this suite checks what
actually sits in the warehouse, independently, so a parser regression or a foreign writer is
caught before anything downstream reads the partition.

The suite is written as Great Expectations 1.x expectation configurations (`RAW_LOGS_SUITE`:
type and kwargs, as GX serializes them). The check evaluates it in one DuckDB query per run
window, grouped by day, on the data where it is loaded: GX's pandas engine needed the window
copied into pandas, 2 s of GX import and context per process, and a second validation of each
day when the window failed (issue 15: the check cost 50% of the ingest step). `validate_with_gx`
runs the same suite with GX itself; the tests require both to agree on every expectation
(success and unexpected count) on rows that break each rule. Semantics follow GX's: a map
expectation ignores nulls (and NaN, which pandas treats as null), `to_be_unique` counts every
row of a duplicated value, `to_be_between` has inclusive bounds unless `strict_min/strict_max`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.logs.ingest import NUMBER_LIMITS
from pipeline.warehouse import statement

if TYPE_CHECKING:
    import pandas as pd

SAMPLE = 5  # unexpected values kept per failed expectation

# the raw_logs contract, over the columns of sql/logs/contract_rows.sql
RAW_LOGS_SUITE: tuple[tuple[str, dict[str, Any]], ...] = (
    *(("expect_column_values_to_not_be_null", {"column": c})
      for c in ("request_id", "timestamp", "user_id", "response", "n_messages")),
    ("expect_column_values_to_be_unique", {"column": "request_id_in_day"}),
    # the day's start is inclusive and its end exclusive
    ("expect_column_values_to_be_between", {"column": "seconds_into_day", "min_value": 0, "max_value": 86_400,
                                            "strict_max": True}),
    ("expect_column_values_to_be_between", {"column": "n_messages", "min_value": 1}),
    ("expect_column_values_to_be_in_set", {"column": "thumbs", "value_set": [-1, 0, 1]}),
    *(("expect_column_values_to_be_between", {"column": c, "min_value": 0, "max_value": top})
      for c, top in NUMBER_LIMITS.items()),
    ("expect_column_values_to_be_in_set", {"column": "non_finite_numbers", "value_set": [0]}),
)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    unexpected_count: int
    sample: list[Any]
    request_ids: list[str] = field(default_factory=list)  # of the first unexpected rows (not from GX)


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


def _literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"contract literal {value!r}: only numbers and strings")
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _unexpected(kind: str, kwargs: dict[str, Any]) -> str:
    """A SQL condition that is true for a row the expectation rejects (as GX decides it)."""
    col = '"' + kwargs["column"].replace('"', '""') + '"'
    evaluated = f"{col} is not null and not isnan(try_cast({col} as double))"  # GX skips nulls; pandas: NaN is null
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if kind == "expect_column_values_to_be_unique":
        return f"{col} is not null and count(*) over (partition by {col}) > 1"
    if kind == "expect_column_values_to_be_in_set":
        return f"{col} is not null and {col} not in ({', '.join(_literal(v) for v in kwargs['value_set'])})"
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{col} {'<=' if kwargs.get('strict_min') else '<'} {_literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{col} {'>=' if kwargs.get('strict_max') else '>'} {_literal(kwargs['max_value'])}")
        return f"({evaluated}) and ({' or '.join(bounds) or 'false'})"
    raise ValueError(f"no SQL for the expectation type {kind!r}: add it here and to the GX agreement test")


@cache
def _suite_sql(rows_sql: str) -> str:
    """One query: per day, the rows and each expectation's unexpected count and first values."""
    flags = ",\n       ".join(f"({_unexpected(kind, kw)}) as u{i}" for i, (kind, kw) in enumerate(RAW_LOGS_SUITE))
    aggregates = ",\n       ".join(
        f"count(*) filter (where u{i}) as n{i}, "
        f"(list(cast(\"{kw['column']}\" as varchar) order by request_id_in_day) filter (where u{i}))[1:{SAMPLE}] as s{i}, "
        f"(list(cast(request_id as varchar) order by request_id_in_day) filter (where u{i}))[1:{SAMPLE}] as r{i}"
        for i, (_, kw) in enumerate(RAW_LOGS_SUITE))
    return (f"with rows as ({rows_sql}\n),\n"
            f"flagged as (select *,\n       {flags}\nfrom rows)\n"
            f"select strftime(log_date, '%Y-%m-%d') as day, count(*) as n_rows,\n       {aggregates}\n"
            f"from flagged group by log_date order by log_date")


def _validation(label: str, rows: int, outcomes: list[ExpectationOutcome], days: int = 1) -> PartitionValidation:
    ok = sum(o.success for o in outcomes)
    statistics = {"evaluated_expectations": len(outcomes), "successful_expectations": ok,
                  "unsuccessful_expectations": len(outcomes) - ok,
                  "success_percent": 100.0 * ok / len(outcomes) if outcomes else None}
    return PartitionValidation(label, rows, ok == len(outcomes), statistics, outcomes, days)


def validate_raw_logs_window(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[PartitionValidation]:
    """The suite on each day of [start, end) that has rows, in one pass over the window."""
    return _per_day(con.execute(_suite_sql(statement("logs/contract_rows")), {"start": start, "end": end}))


def validate_frame(frame: pd.DataFrame) -> list[PartitionValidation]:
    """The suite in DuckDB on rows as sql/logs/contract_rows.sql gives them, per day (for tests)."""
    con = duckdb.connect()
    try:
        con.register("contract_frame", frame)
        return _per_day(con.execute(_suite_sql("select * from contract_frame")))
    finally:
        con.close()


def _per_day(cursor: duckdb.DuckDBPyConnection) -> list[PartitionValidation]:
    out = []
    for row in cursor.fetchall():
        day, rows, values = row[0], row[1], row[2:]
        outcomes = [ExpectationOutcome(kind, kw["column"], values[3 * i] == 0, int(values[3 * i]),
                                       [str(v) for v in values[3 * i + 1] or []],
                                       [str(v) for v in values[3 * i + 2] or [] if v is not None])
                    for i, (kind, kw) in enumerate(RAW_LOGS_SUITE)]
        out.append(_validation(day, rows, outcomes))
    return out


# --- the same suite run by Great Expectations itself (the reference the tests hold the SQL to) ---

# GX announces every metric it computes
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@cache
def _gx_validation():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = ctx.data_sources.add_pandas("warehouse").add_dataframe_asset("raw_logs").add_batch_definition_whole_dataframe("window")
    suite = ctx.suites.add(gx.ExpectationSuite(name="raw_logs_contract"))
    for kind, kwargs in RAW_LOGS_SUITE:
        suite.add_expectation(ExpectationConfiguration(type=kind, kwargs=dict(kwargs)).to_domain_obj())
    return ctx.validation_definitions.add(gx.ValidationDefinition(name="raw_logs_window", data=batch, suite=suite))


def validate_with_gx(frame: pd.DataFrame, label: str) -> PartitionValidation:
    """Great Expectations' own validation of rows as sql/logs/contract_rows.sql gives them."""
    result = _gx_validation().run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        outcomes.append(ExpectationOutcome(
            cfg.type, str(cfg.kwargs.get("column", "")), bool(r.success),
            int(r.result.get("unexpected_count") or 0),
            [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:SAMPLE]]))
    days = int(frame["log_date"].nunique()) if "log_date" in frame and len(frame) else 0
    return _validation(label, len(frame), outcomes, days)
