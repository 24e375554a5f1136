"""The Great Expectations suite on raw_logs: passes on clean rows, names each violation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from pipeline.contracts import validate_raw_logs_partition

DAY = datetime(2026, 5, 2, tzinfo=UTC)


def frame(**overrides) -> pd.DataFrame:
    rows = {"request_id": ["a", "b", "c"], "timestamp": pd.to_datetime([DAY + timedelta(hours=h) for h in (1, 2, 3)], utc=True),
            "user_id": ["u"] * 3, "response": [10, 0, 5], "n_messages": [1, 2, 1], "thumbs": [1, None, -1],
            "latency_ms": [100.0, 5.0, None], "cost_usd": [0.01, 0.0, 0.002], "input_tokens": [5, 6, 7], "output_tokens": [1, 2, 3]}
    rows.update(overrides)
    return pd.DataFrame(rows)


def test_clean_partition_passes_with_statistics():
    v = validate_raw_logs_partition(frame(), "2026-05-02", DAY, DAY + timedelta(days=1))
    assert v.success and v.rows == 3 and not v.failures
    assert v.statistics["evaluated_expectations"] == v.statistics["successful_expectations"] >= 12


def test_each_violation_is_reported_with_its_column():
    bad = frame(request_id=["a", "a", "c"], thumbs=[1, 5, None], latency_ms=[-1.0, 2.0, 3.0],
                timestamp=pd.to_datetime([DAY, DAY + timedelta(days=1), DAY - timedelta(seconds=1)], utc=True))
    v = validate_raw_logs_partition(bad, "2026-05-02", DAY, DAY + timedelta(days=1))
    failed = {(o.expectation, o.column): o.unexpected_count for o in v.failures}
    assert not v.success
    assert failed == {
        ("expect_column_values_to_be_unique", "request_id"): 2,
        ("expect_column_values_to_be_in_set", "thumbs"): 1,
        ("expect_column_values_to_be_between", "latency_ms"): 1,
        # the day's end is exclusive and its start inclusive
        ("expect_column_values_to_be_between", "timestamp"): 2,
    }
