"""The Great Expectations suite on raw_logs: passes on clean rows, names each violation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from pipeline.logs.contracts import validate_raw_logs_frame

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


def test_clean_window_passes_with_statistics():
    v = validate_raw_logs_frame(frame(), "2026-05-02")
    assert v.success and v.rows == 3 and v.days == 1 and not v.failures
    assert v.statistics["evaluated_expectations"] == v.statistics["successful_expectations"] >= 14


def test_each_violation_is_reported_with_its_column():
    bad = frame(request_id_in_day=["2026-05-02 a", "2026-05-02 a", "2026-05-02 c"], thumbs=[1, 5, None],
                latency_ms=[-1.0, 2.0, 3.0], seconds_into_day=[0.0, 86_400.0, -1.0], input_tokens=[5, 1e30, 7],
                non_finite_numbers=[0, 1, 0])
    v = validate_raw_logs_frame(bad, "2026-05-02")
    failed = {(o.expectation, o.column): o.unexpected_count for o in v.failures}
    assert not v.success
    assert failed == {
        ("expect_column_values_to_be_unique", "request_id_in_day"): 2,
        ("expect_column_values_to_be_in_set", "thumbs"): 1,
        ("expect_column_values_to_be_between", "latency_ms"): 1,
        # the day's end is exclusive and its start inclusive
        ("expect_column_values_to_be_between", "seconds_into_day"): 2,
        ("expect_column_values_to_be_between", "input_tokens"): 1,
        ("expect_column_values_to_be_in_set", "non_finite_numbers"): 1,
    }


def test_the_same_request_id_on_two_days_is_not_a_duplicate():
    two_days = frame(log_date=[date(2026, 5, 2), date(2026, 5, 3), date(2026, 5, 3)],
                     request_id=["a", "a", "c"], request_id_in_day=["2026-05-02 a", "2026-05-03 a", "2026-05-03 c"])
    v = validate_raw_logs_frame(two_days, "2026-05-02..2026-05-03")
    assert v.success and v.days == 2
