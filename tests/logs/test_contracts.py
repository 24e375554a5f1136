"""The raw_logs contract: a Great Expectations suite evaluated in DuckDB, held to GX's own verdicts.

Every frame is validated twice: by `validate_frame` (the SQL the check runs) and by
`validate_with_gx` (Great Expectations 1.x on pandas, the reference). Success and the unexpected
count of every expectation must agree exactly."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.logs.contracts import RAW_LOGS_SUITE, validate_frame, validate_with_gx

DAY = datetime(2026, 5, 2, tzinfo=UTC)


def frame(**overrides) -> pd.DataFrame:
    """Rows as sql/logs/contract_rows.sql gives them: the per-day rules are columns."""
    rows = {"log_date": [date(2026, 5, 2)] * 3, "request_id_in_day": ["2026-05-02 a", "2026-05-02 b", "2026-05-02 c"],
            "request_id": ["a", "b", "c"], "timestamp": pd.to_datetime([DAY + timedelta(hours=h) for h in (1, 2, 3)], utc=True),
            "seconds_into_day": [3600.0, 7200.0, 10800.0],
            "user_id": ["u"] * 3, "response": [10, 0, 5], "n_messages": [1, 2, 1], "thumbs": [1, None, -1],
            "latency_ms": [100.0, 5.0, None], "cost_usd": [0.01, 0.0, 0.002], "input_tokens": [5, 6, 7], "output_tokens": [1, 2, 3],
            "non_finite_numbers": [0, 0, 0]}
    rows.update(overrides)
    return pd.DataFrame(rows)


def both(rows: pd.DataFrame) -> tuple[Counter, Counter, bool]:
    """Unexpected counts per (expectation, column) by SQL (summed over days) and by GX, and SQL's verdict."""
    days = validate_frame(rows)
    sql = Counter()
    for v in days:
        for o in v.outcomes:
            sql[(o.expectation, o.column)] += o.unexpected_count
    gx = validate_with_gx(rows, "window")
    reference = Counter({(o.expectation, o.column): o.unexpected_count for o in gx.outcomes})
    assert all(v.success for v in days) == gx.success
    assert len(gx.outcomes) == len(RAW_LOGS_SUITE) == len(days[0].outcomes)
    return +sql, +reference, all(v.success for v in days)


def test_clean_rows_pass_with_statistics():
    [v] = validate_frame(frame())
    assert v.success and v.rows == 3 and v.partition == "2026-05-02" and not v.failures
    assert v.statistics["evaluated_expectations"] == v.statistics["successful_expectations"] == len(RAW_LOGS_SUITE) >= 14
    sql, gx, ok = both(frame())
    assert ok and sql == gx == Counter()


def test_each_violation_is_reported_with_its_column_as_gx_reports_it():
    bad = frame(request_id_in_day=["2026-05-02 a", "2026-05-02 a", "2026-05-02 c"], thumbs=[1, 5, None],
                latency_ms=[-1.0, 2.0, 3.0], seconds_into_day=[0.0, 86_400.0, -1.0], input_tokens=[5, 1e30, 7],
                non_finite_numbers=[0, 1, 0])
    expected = Counter({
        ("expect_column_values_to_be_unique", "request_id_in_day"): 2,  # every row of a duplicate
        ("expect_column_values_to_be_in_set", "thumbs"): 1,
        ("expect_column_values_to_be_between", "latency_ms"): 1,
        # the day's end is exclusive and its start inclusive
        ("expect_column_values_to_be_between", "seconds_into_day"): 2,
        ("expect_column_values_to_be_between", "input_tokens"): 1,
        ("expect_column_values_to_be_in_set", "non_finite_numbers"): 1,
    })
    sql, gx, ok = both(bad)
    assert not ok and sql == gx == expected
    [v] = validate_frame(bad)
    failed = {(o.expectation, o.column): o for o in v.failures}
    assert failed[("expect_column_values_to_be_between", "latency_ms")].sample == ["-1.0"]
    # which records: a count column's values (non_finite_numbers 1) say nothing; their request ids do
    assert failed[("expect_column_values_to_be_in_set", "non_finite_numbers")].request_ids == ["b"]
    assert failed[("expect_column_values_to_be_between", "seconds_into_day")].request_ids == ["b", "c"]
    assert v.statistics["unsuccessful_expectations"] == len(expected)


def test_nulls_nan_and_infinity_follow_gx():
    """GX skips nulls (and NaN: pandas' null) in map expectations and counts them in not_null;
    infinity is a value, out of bounds."""
    odd = frame(user_id=["u", None, None], response=[None, 3, 4], latency_ms=[np.nan, np.inf, -np.inf],
                cost_usd=[None, np.nan, 1e5], thumbs=[None, None, None], request_id_in_day=[None, None, "x"],
                n_messages=[0, None, 3])
    sql, gx, ok = both(odd)
    assert not ok and sql == gx
    assert sql[("expect_column_values_to_not_be_null", "user_id")] == 2
    assert sql[("expect_column_values_to_be_between", "latency_ms")] == 2  # +inf and -inf; NaN skipped
    assert sql[("expect_column_values_to_be_between", "cost_usd")] == 1


def test_the_same_request_id_on_two_days_is_not_a_duplicate():
    two_days = frame(log_date=[date(2026, 5, 2), date(2026, 5, 3), date(2026, 5, 3)],
                     request_id=["a", "a", "c"], request_id_in_day=["2026-05-02 a", "2026-05-03 a", "2026-05-03 c"])
    days = validate_frame(two_days)
    assert [(v.partition, v.rows, v.success) for v in days] == [("2026-05-02", 1, True), ("2026-05-03", 2, True)]
    assert both(two_days)[2]


@pytest.mark.parametrize("seed", range(5))
def test_random_rows_agree_with_gx(seed):
    """Random mixes of every kind of violation, many days: the SQL and GX count the same."""
    rng = np.random.default_rng(seed)
    n = 400
    days = [date(2026, 5, 1) + timedelta(days=int(d)) for d in rng.integers(0, 4, n)]
    ids = rng.integers(0, 300, n).astype(str)

    def maybe(values, p=0.05, bad=None):
        values = np.asarray(values, dtype=object)
        hit = rng.random(n) < p
        values[hit] = bad if bad is not None else None
        return list(values)

    rows = frame(
        log_date=days, request_id=maybe(ids), request_id_in_day=[f"{d} {i}" for d, i in zip(days, ids)],
        timestamp=maybe(pd.to_datetime([DAY] * n, utc=True)), user_id=maybe(["u"] * n),
        seconds_into_day=rng.choice([-1.0, 0.0, 5.0, 86_399.9, 86_400.0, np.nan], n),
        response=maybe(rng.integers(0, 50, n)), n_messages=maybe(rng.integers(0, 4, n)),
        thumbs=rng.choice([-1, 0, 1, 2, None], n), latency_ms=rng.choice([-5.0, 0.0, 3.0, 9e7, np.nan, np.inf, None], n),
        cost_usd=rng.choice([0.0, 0.5, -0.01, 1e4, 1.00001e4], n), input_tokens=rng.choice([0, 10, -1, 10**9], n),
        output_tokens=rng.choice([0, 10, 2 * 10**8], n), non_finite_numbers=rng.choice([0, 0, 0, 1, 2], n))
    sql, gx, _ = both(rows)
    assert sql == gx and sum(sql.values()) > 50  # the frame does break the contract, many ways
