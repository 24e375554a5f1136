"""Partitions start with the first day of in-range data; records the ingest rejects as out of
range (dated 1970, 1969 or 2199, as text or epoch numbers, in any format) never widen them.

`evalfunnel run` finds the source's days (`source_days`), records the first one for the home
(`environment.record_start_date`) and only then loads the definitions, whose partitions start
there (`environment.start_date`). The same steps run here, and the definitions load in a fresh
interpreter on the home, as `evalfunnel run` and `evalfunnel dev` load them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline import environment
from pipeline.logs.ingest import source_days
from pipeline.partitions import month_start, partitions_from, quarter_start
from tests.conftest import record, write_jsonl

FIRST, LAST = date(2026, 5, 14), date(2026, 5, 20)
OUT_OF_RANGE = ["1970-01-01T00:00:00Z", "2199-01-01T00:00:00Z", 7258118400000, 7258118400, 0, 86400,
                "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (environment.START_DATE_VAR, "EVALFUNNEL_LOGS_SINCE"):
        monkeypatch.delenv(var, raising=False)


def hand_made_source(root: Path) -> Path:
    """Valid records from FIRST to LAST in JSONL, gzipped JSONL and CSV, each file with records
    dated far in the past or the future among them."""
    logs = root / "logs"
    days = [date.fromordinal(d) for d in range(FIRST.toordinal(), LAST.toordinal() + 1)]
    write_jsonl(logs / "main.jsonl", [record("r-out-0", ts=OUT_OF_RANGE[0])]
                + [record(f"r{d}", ts=f"{d}T10:00:00Z") for d in days]
                + [record(f"r-out-{i}", ts=ts) for i, ts in enumerate(OUT_OF_RANGE[1:], 1)])
    write_jsonl(logs / "more" / "part.jsonl.gz", [record("g1", ts="2026-05-16T08:00:00Z"),
                                                  record("g-old", ts="1970-01-02T00:00:00Z")], gz=True)
    (logs / "export.csv").write_text("request_id,timestamp,user_id,query,response\n"
                                     "c-old,1969-12-31T23:59:59Z,u1,q,r\n"
                                     "c1,2026-05-17T11:00:00Z,u2,q,r\n"
                                     "c-future,2199-06-01T00:00:00Z,u1,q,r\n")
    return root


def first_keys(home: Path) -> dict[str, str]:
    """The first partition key of each partitioned asset, as a fresh interpreter on `home` sees them."""
    script = ("import json\n"
              "from pipeline.definitions import defs\n"
              "graph = defs.resolve_asset_graph()\n"
              "print(json.dumps({k.to_user_string(): graph.get(k).partitions_def.get_first_partition_key()\n"
              "                  for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}))\n")
    env = {k: v for k, v in os.environ.items() if k not in (environment.START_DATE_VAR, "EVALFUNNEL_LOGS_SINCE")}
    env.update({"EVALFUNNEL_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "EVALFUNNEL_SOURCE": str(home / "no-source")})
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_partitions_start_with_the_first_day_of_in_range_data(tmp_path):
    source = hand_made_source(tmp_path / "src")
    assert source_days(source) == (FIRST, LAST)
    home = environment.Home(tmp_path / "home")
    environment.record_start_date(home, FIRST)
    assert (home.root / "start_date").read_text().strip() == "2026-05-14"

    keys = first_keys(home.root)
    by_partitioning = {"raw_logs": "2026-05-14", "log_rejects": "2026-05-14", "clean_logs": "2026-05-14",
                       "experiment_samples": "2026-05-01", "judge_human_agreement": "2026-05-01",
                       "judge_drift": "2026-05-01", "label_queue": "2026-05-01", "ppi_estimates": "2026-05-01",
                       "eval_set": "2026-04-01", "offline_online": "2026-04-01",
                       "offline_online_correlation": "2026-04-01"}
    assert keys == by_partitioning


def test_out_of_range_records_never_widen_the_partitions(tmp_path):
    source = hand_made_source(tmp_path / "src")
    home = environment.Home(tmp_path / "home")
    environment.record_start_date(home, source_days(source)[0])
    # a file holding nothing but out-of-range records: the source's days do not change
    write_jsonl(source / "logs" / "junk.jsonl", [record(f"j{i}", ts=ts) for i, ts in enumerate(OUT_OF_RANGE)])
    assert source_days(source) == (FIRST, LAST)
    # nor does recording an out-of-range day by hand
    for day in ("1970-01-01", "2019-12-31", "2199-01-01", date(1969, 12, 31)):
        environment.record_start_date(home, day)
    assert environment.recorded_start_date(home) == "2026-05-14"


def test_the_start_only_moves_earlier_and_a_stale_out_of_range_record_is_replaced(tmp_path, monkeypatch):
    home = environment.Home(tmp_path / "home")
    monkeypatch.setenv("EVALFUNNEL_HOME", str(home.root))
    assert environment.start_date() == environment.DEFAULT_START_DATE  # nothing recorded yet
    environment.record_start_date(home, "2026-05-14")
    environment.record_start_date(home, "2026-06-01")  # a later first day: partitions never shrink
    assert environment.start_date() == "2026-05-14"
    environment.record_start_date(home, "2026-05-02")  # older logs arrived
    assert environment.start_date() == "2026-05-02"
    # an older version recorded the day of a record dated 1970: ignored, and replaced by the next run
    (home.root / "start_date").write_text("1970-01-01\n")
    assert environment.recorded_start_date(home) is None
    assert environment.start_date() == environment.DEFAULT_START_DATE
    environment.record_start_date(home, "2026-05-14")
    assert environment.start_date() == "2026-05-14"
    # EVALFUNNEL_START_DATE still wins, and must be a date
    monkeypatch.setenv(environment.START_DATE_VAR, "2026-01-01")
    assert environment.start_date() == "2026-01-01"
    monkeypatch.setenv(environment.START_DATE_VAR, "May 2026")
    with pytest.raises(ValueError, match="EVALFUNNEL_START_DATE"):
        environment.start_date()


def test_a_month_start_before_logs_since_counts_as_logs_since(tmp_path, monkeypatch):
    """The CLI may pass the first day's month start; in the month EVALFUNNEL_LOGS_SINCE falls in
    that is the first accepted day, never a day before it."""
    monkeypatch.setenv("EVALFUNNEL_LOGS_SINCE", "2026-05-10")
    home = environment.Home(tmp_path / "home")
    environment.record_start_date(home, "2026-05-01")
    assert environment.recorded_start_date(home) == "2026-05-10"


@pytest.mark.parametrize("first_day, month, quarter", [
    ("2025-05-14", "2025-05-01", "2025-04-01"), ("2025-01-01", "2025-01-01", "2025-01-01"),
    ("2025-12-31", "2025-12-01", "2025-10-01"), ("2025-03-31", "2025-03-01", "2025-01-01")])
def test_each_set_starts_with_the_window_holding_the_first_day(first_day, month, quarter):
    daily, monthly, quarterly = partitions_from(first_day)
    assert (month_start(first_day), quarter_start(first_day)) == (month, quarter)
    assert daily.get_first_partition_key() == first_day
    assert monthly.get_first_partition_key() == month
    assert quarterly.get_first_partition_key() == quarter
    window = quarterly.time_window_for_partition_key(quarter)
    assert window.start.date() <= date.fromisoformat(first_day) < window.end.date()



def test_raising_logs_since_narrows_the_partitions_never_widens_them(tmp_path, monkeypatch):
    # the review: a home recorded 2026-05-14, then EVALFUNNEL_LOGS_SINCE=2026-05-15 made the start
    # fall back to the 2025-01-01 default (697 daily partitions instead of 199)
    monkeypatch.delenv(environment.START_DATE_VAR, raising=False)
    home = environment.Home(tmp_path / "home")
    monkeypatch.setenv("EVALFUNNEL_HOME", str(home.root))
    monkeypatch.delenv("EVALFUNNEL_LOGS_SINCE", raising=False)
    environment.record_start_date(home, "2026-05-14")
    assert environment.start_date() == "2026-05-14"
    monkeypatch.setenv("EVALFUNNEL_LOGS_SINCE", "2026-05-15")
    assert environment.start_date() == "2026-05-15"
    # a 1970 day an older version recorded is ignored (the default), and the next run replaces it
    (home.root / environment.START_DATE_FILE).write_text("1970-01-01\n")
    monkeypatch.delenv("EVALFUNNEL_LOGS_SINCE")
    assert environment.start_date() == environment.DEFAULT_START_DATE
    environment.record_start_date(home, "2026-05-14")
    assert environment.start_date() == "2026-05-14"
