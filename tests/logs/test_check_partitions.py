"""A check run over a range of days records one result per day, with that day's own figures.

`evalfunnel run`/`backfill` and the UI's single-run backfills check a whole window in one run.
Dagster plans the check for every partition of it; each planned record must end with that day's
own result (never SKIPPED beside one unpartitioned record). Hand-made source: three days with
1, 2 and 4 records; then a foreign writer breaks the contract and plants PII on the second day."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import privacy as anonymize, logs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.partitions import daily
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect
from tests.conftest import record, write_jsonl

DAYS = {"2026-06-01": 1, "2026-06-02": 2, "2026-06-03": 4}
RANGE = {RANGE_START_TAG: "2026-06-01", RANGE_END_TAG: "2026-06-03"}
ASSETS = [logs.ingested_logs, logs.raw_logs_contract, anonymize.clean_logs, anonymize.no_pii_residue]


def check_state(instance: dg.DagsterInstance, check: dg.AssetChecksDefinition,
                partitions: dg.PartitionsDefinition) -> tuple[dict[str, str], list[str]]:
    """What the UI shows for a partitioned check: each partition's status, and the status of any
    record tied to no partition (a range run's results used to land there)."""
    key = check.check_key
    state = instance.event_log_storage.get_asset_check_state([(key, partitions)])[key]
    by_partition = {p: status.value for status, subset in state.subsets.items() if not subset.is_empty
                    for p in subset.subset_value.get_partition_keys()}
    unpartitioned = [i.latest_execution_status.value for i in instance.event_log_storage.get_asset_check_partition_info([key])
                     if i.partition_key is None]
    return by_partition, unpartitioned


def evaluations(result: dg.ExecuteInProcessResult, name: str) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == name}


@pytest.fixture
def resources(source, tmp_path):
    rows = []
    for day, n in DAYS.items():
        rows += [record(f"{day}-{i}", ts=f"{day}T10:0{i}:00Z", user_id=f"u{i}") for i in range(n)]
    write_jsonl(source / "logs" / "june.jsonl", rows)
    return {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(source)),
            "pii": PiiResource(salt="test-salt")}


def test_a_range_run_records_each_days_own_check_result(resources, tmp_path):
    with dg.instance_for_test() as instance:
        result = dg.materialize(ASSETS, resources=resources, instance=instance, tags=RANGE)
        assert result.success
        for check in (logs.raw_logs_contract, anonymize.no_pii_residue):
            assert check_state(instance, check, daily) == ({day: "SUCCEEDED" for day in DAYS}, []), check.check_key
        contract, residue = evaluations(result, "raw_logs_contract"), evaluations(result, "no_pii_residue")
        assert set(contract) == set(residue) == set(DAYS)
        for day, n in DAYS.items():
            assert contract[day].metadata["rows_validated"].value == n, day
            assert contract[day].metadata["run_window"].value == "2026-06-01..2026-06-03 (3 days in this run)"
            assert residue[day].metadata["texts_scanned"].value == 3 * n, day  # query, response, metadata
            assert contract[day].blocking and residue[day].blocking

        # a foreign writer breaks the second day: a duplicate request with a negative latency, and PII left in a text
        with connect(tmp_path / "warehouse.duckdb") as con:
            con.execute("insert into raw_logs select * replace (-5 as latency_ms) from raw_logs "
                        "where log_date = '2026-06-02' limit 1")
            con.execute("update clean_logs set response = response || ' write to maria.garcia@gmail.com' "
                        "where log_date = '2026-06-02'")
        checks = dg.materialize(ASSETS, resources=resources, instance=instance, tags=RANGE, raise_on_error=False,
                                selection=dg.AssetSelection.checks(logs.raw_logs_contract, anonymize.no_pii_residue))
        assert not checks.success  # both checks block
        expected = {"2026-06-01": "SUCCEEDED", "2026-06-02": "FAILED", "2026-06-03": "SUCCEEDED"}
        for check in (logs.raw_logs_contract, anonymize.no_pii_residue):
            assert check_state(instance, check, daily) == (expected, []), check.check_key
        contract, residue = evaluations(checks, "raw_logs_contract"), evaluations(checks, "no_pii_residue")
        bad = contract["2026-06-02"].metadata
        assert bad["rows_validated"].value == 3 and bad["success_percent"].value < 100
        assert bad["run_days_failed"].value == 1 and contract["2026-06-03"].metadata["run_days_failed"].value == 1
        assert {r.data["column"] for r in bad["failures"].records} >= {"request_id_in_day", "latency_ms"}
        assert contract["2026-06-01"].metadata["failures"].value == "none"
        assert [residue[d].metadata["residue_found"].value for d in DAYS] == [0, 2, 0]


def test_a_one_day_run_records_that_day(resources):
    with dg.instance_for_test() as instance:
        assert dg.materialize(ASSETS, resources=resources, instance=instance, partition_key="2026-06-03").success
        for check in (logs.raw_logs_contract, anonymize.no_pii_residue):
            assert check_state(instance, check, daily) == ({"2026-06-03": "SUCCEEDED"}, []), check.check_key
