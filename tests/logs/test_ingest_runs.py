"""Ingestion assets and their contract check, materialized in process on generated data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest

from assets import logs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.logs.contracts import validate_raw_logs_window
from pipeline.logs.metadata import contract_metadata
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect


@pytest.fixture
def resources(demo_source, tmp_path):
    return {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
            "pii": PiiResource(salt="test-salt")}


def _meta(result: dg.ExecuteInProcessResult, key: str, partitions: int = 1) -> dict[str, dict]:
    """The metadata of a window's materialization: one event per partition, by partition key."""
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == key]
    assert len(mats) == partitions
    return {m.partition: {k: v.value for k, v in m.materialization.metadata.items()} for m in mats}


def test_a_range_of_days_in_one_run(resources, tmp_path):
    result = dg.materialize([logs.ingested_logs, logs.raw_logs_contract], resources=resources,
                            tags={RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-03"})
    assert result.success
    raw, rejects = _meta(result, "raw_logs", 3), _meta(result, "log_rejects", 3)
    assert all(day["reconciles"] and day["read"] == day["loaded"] + day["rejected"] + day["duplicates"] for day in raw.values())
    # the demo plants five bad records and one duplicate on its first two days
    assert sum(d["rejected"] for d in raw.values()) == sum(d["rejected"] for d in rejects.values()) == 5
    assert sum(d["duplicates"] for d in raw.values()) == 1
    assert raw["2026-09-01"]["run_window"] == "2026-09-01..2026-09-03 (3 days in this run)"
    examples = [r.data["file"] for r in rejects["2026-09-01"]["run_reject_examples"].records]
    assert "logs/bad/partial_upload.jsonl.gz" in examples
    # one contract result per day of the range, each with that day's own rows
    checks = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"2026-09-01", "2026-09-02", "2026-09-03"} and all(c.passed for c in checks.values())
    assert sum(c.metadata["rows_validated"].value for c in checks.values()) == sum(d["loaded"] for d in raw.values())
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        days = con.execute("select min(log_date), max(log_date), count(*) from raw_logs").fetchone()
    assert (str(days[0]), str(days[1]), days[2]) == ("2026-09-01", "2026-09-03", sum(d["loaded"] for d in raw.values()))


def test_one_partition_then_the_contract_catches_tampering(resources, tmp_path):
    assert dg.materialize([logs.ingested_logs, logs.raw_logs_contract], resources=resources, partition_key="2026-09-10").success
    with connect(tmp_path / "warehouse.duckdb") as con:
        # a foreign writer slips in a row that breaks the contract
        con.execute("insert into raw_logs select * replace (-5 as latency_ms, $ts as \"timestamp\") from raw_logs "
                    "where log_date = '2026-09-10' limit 1", {"ts": datetime(2026, 9, 12, tzinfo=UTC)})
        validations = validate_raw_logs_window(con, date(2026, 9, 10), date(2026, 9, 11))
    meta = contract_metadata(validations)
    assert meta["partitions_failed"] == 1 and meta["success_percent"] < 100
    failed_columns = {r.data["column"] for r in meta["failures"].records}  # a table in the UI
    assert {"request_id_in_day", "latency_ms", "seconds_into_day"} <= failed_columns


def test_rematerializing_gives_the_same_tables(resources, tmp_path):
    tags = {RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-02"}
    counts = []
    for _ in range(2):
        assert dg.materialize([logs.ingested_logs], resources=resources, tags=tags).success
        with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
            counts.append(con.execute("select (select count(*) from raw_logs), (select count(*) from log_rejects), "
                                      "(select count(*) from log_partitions)").fetchone())
    assert counts[0] == counts[1] and counts[0][0] > 0
