"""clean_logs materialized in process after ingestion: scrubbed, pseudonymized, checked."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta

import dagster as dg
import pytest

from assets import privacy as anonymize, logs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.privacy.cleaning import residue_by_day, residue_for_days, residue_in_window
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

SEPT = {RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-07"}


@pytest.fixture
def resources(demo_source, tmp_path):
    return {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
            "pii": PiiResource(salt="a test key")}


def materialize(resources):
    return dg.materialize([logs.ingested_logs, logs.raw_logs_contract, anonymize.clean_logs, anonymize.no_pii_residue],
                          resources=resources, tags=SEPT)


def test_clean_logs_hold_no_gold_pii_and_no_raw_ids(resources, demo_source, tmp_path):
    result = materialize(resources)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["no_pii_residue"].passed and checks["no_pii_residue"].metadata["residue_found"].value == 0
    gold = [json.loads(line)["text"] for line in gzip.open(demo_source / "gold" / "pii_spans.jsonl.gz", "rt")]
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        raw_n, clean_n = con.execute("select (select count(*) from raw_logs), (select count(*) from clean_logs)").fetchone()
        everything = "\n".join(r[0] for r in con.execute(
            "select concat_ws('\n', list_aggregate(list_transform(messages, lambda m: m.content), 'string_agg', '\n'), "
            "response, feedback.edited_response, cast(metadata as varchar), cast(extra as varchar), user_id, session_id) "
            "from clean_logs").fetchall())
        raw_users = {r[0] for r in con.execute("select distinct user_id from raw_logs").fetchall()}
        clean_users = {r[0] for r in con.execute("select distinct user_id from clean_logs").fetchall()}
        replaced = con.execute("select sum(replaced) from pii_replacements").fetchone()[0]
    assert raw_n == clean_n > 0 and replaced > 0
    present = [g for g in gold if g in everything]
    assert present == [], present[:5]
    assert len(clean_users) == len(raw_users) and not clean_users & raw_users
    assert "a test key" not in everything  # the key never lands in the warehouse


def test_placeholders_are_stable_across_runs_and_partitions(resources, tmp_path):
    materialize(resources)
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        first = con.execute("select request_id, response, user_id from clean_logs order by request_id").fetchall()
    # one day again, alone: the same placeholders and pseudonyms as in the range run
    assert dg.materialize([logs.ingested_logs, anonymize.clean_logs], resources=resources, partition_key="2026-09-03").success
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        again = con.execute("select request_id, response, user_id from clean_logs order by request_id").fetchall()
    assert first == again


def test_residue_check_fails_on_planted_pii(resources, tmp_path):
    materialize(resources)
    with connect(tmp_path / "warehouse.duckdb") as con:
        con.execute("update clean_logs set response = response || ' write to maria.garcia@gmail.com' "
                    "where request_id = (select min(request_id) from clean_logs where log_date = '2026-09-02')")
        report = residue_in_window(con, date(2026, 9, 1), date(2026, 9, 8))
        # the check reads a week per query: each day's report is the one the day alone gives
        days = residue_by_day(con, date(2026, 8, 31), date(2026, 9, 8))
        alone = {d: residue_in_window(con, d, d + timedelta(days=1)) for d in days}
        # any set of days (gaps, more than one query's worth): the same reports
        scattered = [date(2026, 9, 7), date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3), date(2026, 9, 5)]
        chunked = residue_for_days(con, scattered, per_query=2)
    assert report.residue == {"EMAIL": 1} and report.replaced and report.texts > 0
    assert days == alone and days[date(2026, 9, 2)].residue == {"EMAIL": 1}
    assert chunked == {d: alone[d] for d in scattered}
    assert days[date(2026, 8, 31)].texts == 0  # a day without logs: a report of nothing


def _clean_tables(path) -> tuple:
    with connect(path, read_only=True) as con:
        return (con.execute("select * exclude (cleaned_at) from clean_logs order by log_date, request_id").fetchall(),
                con.execute("select * from pii_replacements order by all").fetchall())


def test_days_scrubbed_ahead_on_threads_give_what_one_day_at_a_time_gives(resources, tmp_path, monkeypatch):
    """clean_window reads and scrubs the next days on worker threads while it writes the current
    one: the tables must be exactly those of a strictly sequential run, whatever the lookahead
    and the number of days scrubbed at once."""
    from pipeline.privacy import cleaning

    assert dg.materialize([logs.ingested_logs], resources=resources, tags=SEPT).success
    results = []
    for ahead, workers in ((0, 1), (1, 1), (2, 2), (3, 3), (1, 3)):
        monkeypatch.setattr(cleaning, "AHEAD", ahead)
        monkeypatch.setattr(cleaning, "WORKERS", workers)
        assert dg.materialize([anonymize.clean_logs], resources=resources, tags=SEPT).success
        results.append(_clean_tables(tmp_path / "warehouse.duckdb"))
    assert results[0][0] and results[0][1]  # a week of rows and replacements
    assert all(r == results[0] for r in results[1:])


def test_a_day_that_fails_to_scrub_leaves_no_partial_window(resources, tmp_path, monkeypatch):
    """An error on the worker thread (here on the 4th day) reaches the step, and the window's
    transaction rolls back: clean_logs keeps exactly what it held before."""
    from pipeline.privacy import cleaning

    assert dg.materialize([logs.ingested_logs, anonymize.clean_logs], resources=resources, tags=SEPT).success
    before = _clean_tables(tmp_path / "warehouse.duckdb")
    real, calls = cleaning.scrub_day, []

    def failing(frame, anonymizer):
        calls.append(frame.height)
        if len(calls) == 4:
            raise RuntimeError("scrubber broke on day 4")
        return real(frame, anonymizer)

    monkeypatch.setattr(cleaning, "scrub_day", failing)
    result = dg.materialize([anonymize.clean_logs], resources=resources, tags=SEPT, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "scrubber broke on day 4" in str(failure.step_failure_data.error.cause or failure.step_failure_data.error)
    assert _clean_tables(tmp_path / "warehouse.duckdb") == before
