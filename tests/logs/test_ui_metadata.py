"""A single-run backfill shows each day's own counts: raw_logs, log_rejects and clean_logs over a
three-day window of a hand-written source, each day with a different number of records."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import privacy as anonymize, logs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect
from tests.conftest import record, write_jsonl

# day -> (valid records, rejects): every day differs, so a window total on a day cannot pass
DAYS = {"2026-06-01": (1, 0), "2026-06-02": (2, 1), "2026-06-03": (4, 0)}


@pytest.fixture
def resources(source, tmp_path):
    rows = []
    for day, (valid, rejects) in DAYS.items():
        rows += [record(f"{day}-{i}", ts=f"{day}T10:0{i}:00Z", user_id=f"u{i}") for i in range(valid)]
        rows += [record(f"{day}-bad-{i}", ts=f"{day}T11:0{i}:00Z", latency_ms="slow") for i in range(rejects)]
    write_jsonl(source / "logs" / "june.jsonl", rows)
    return {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(source)),
            "pii": PiiResource(salt="test-salt")}


def by_partition(result: dg.ExecuteInProcessResult, key: str) -> dict[str, dict]:
    events = [e.materialization for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {m.partition: m.metadata for m in events}


def markdown_as_text(metadata: dict) -> list[str]:
    """Keys whose value is plain text that holds a markdown table or list (raw pipes in the UI)."""
    bad = []
    for key, value in metadata.items():
        text = value.value if isinstance(value, dg.TextMetadataValue) else value if isinstance(value, str) else None
        lines = text.splitlines() if text is not None else []
        if text is not None and ("|---|" in text or any(line.lstrip().startswith(("| ", "- ")) for line in lines)):
            bad.append(key)
    return bad


def test_each_day_of_a_single_run_backfill_shows_its_own_counts(resources, tmp_path):
    result = dg.materialize([logs.ingested_logs, anonymize.clean_logs], resources=resources,
                            tags={RANGE_START_TAG: "2026-06-01", RANGE_END_TAG: "2026-06-03"})
    assert result.success
    raw, rejects, clean = (by_partition(result, k) for k in ("raw_logs", "log_rejects", "clean_logs"))
    assert set(raw) == set(rejects) == set(clean) == set(DAYS)
    for day, (valid, rejected) in DAYS.items():
        assert raw[day]["dagster/row_count"].value == raw[day]["dagster/partition_row_count"].value == valid, day
        assert raw[day]["loaded"].value == valid and raw[day]["read"].value == valid + rejected
        assert rejects[day]["dagster/row_count"].value == rejects[day]["rejected"].value == rejected, day
        assert clean[day]["dagster/row_count"].value == clean[day]["dagster/partition_row_count"].value == valid, day
        # what the run as a whole did is said once per day, and says it is the run's
        assert raw[day]["run_window"].value == "2026-06-01..2026-06-03 (3 days in this run)"
        assert clean[day]["run_rows_cleaned"].value == sum(v for v, _ in DAYS.values())
        # the run's files are the run's: named as such, not as if a day had them
        assert {"run_unreadable_files", "run_unsupported_files"} <= set(raw[day])
        assert not {"unreadable_files", "unsupported_files"} & set(raw[day])
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        per_day = dict(con.execute("select strftime(log_date, '%Y-%m-%d'), count(*) from raw_logs group by 1").fetchall())
    assert per_day == {day: valid for day, (valid, _) in DAYS.items()}
    for key in ("raw_logs", "log_rejects", "clean_logs"):
        for day, metadata in by_partition(result, key).items():
            assert markdown_as_text(metadata) == [], (key, day)
    examples = rejects["2026-06-02"]["run_reject_examples"]
    assert isinstance(examples, dg.TableMetadataValue) and examples.records[0].data["line"] == 4


def test_one_day_alone_reports_that_day(resources):
    result = dg.materialize([logs.ingested_logs], resources=resources, partition_key="2026-06-03")
    assert result.success
    [(day, metadata)] = by_partition(result, "raw_logs").items()
    assert day == "2026-06-03" and metadata["dagster/row_count"].value == 4
    assert metadata["run_window"].value == "2026-06-03 (1 day in this run)"
