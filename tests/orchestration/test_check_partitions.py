"""Monthly and quarterly checks run over a range record one result per partition, each with its own
figures (the daily ones: tests/logs/test_check_partitions.py). The tables the checks read are
written by hand, one partition good and one bad, and only the checks run, as a UI backfill or
`evalfunnel backfill` of several months or quarters would run them."""

from __future__ import annotations

import dagster as dg

from assets import privacy as anonymize, calibration, evalsets, logs
from pipeline.definitions import defs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.partitions import monthly, quarterly
from pipeline.resources import JudgeResource, PiiResource, WarehouseResource
from pipeline.warehouse import connect
from tests.logs.test_check_partitions import RANGE, check_state, evaluations
from tests.logs.test_check_partitions import resources as resources  # noqa: F401  (the fixture: three June days)

TESTED = {logs.raw_logs_contract, anonymize.no_pii_residue, calibration.judge_drift_check,
          evalsets.eval_set_no_pii_residue, evalsets.eval_set_drift_check}


def test_every_partitioned_check_is_covered_here_or_in_tests_logs():
    graph = defs.resolve_asset_graph()
    partitioned = {k for k in graph.asset_check_keys if graph.get_check_spec(k).partitions_def is not None}
    assert partitioned == {c.check_key for c in TESTED}


def test_judge_drift_check_records_each_month(tmp_path):
    warehouse = WarehouseResource(home=str(tmp_path))
    with connect(warehouse.path) as con:
        for month, drifted in (("2026-05-01", False), ("2026-06-01", True)):
            con.execute("insert into judge_drift (month, judge_version, dimension, method, anchor_month, n_anchor, "
                        "n_month, shift, test, threshold, drifted, computed_at) values ($m, 'j1', 'helpfulness', "
                        "'rescored', '2026-03-01', 20, 20, $s, 'wilcoxon', 0.5, $d, now())",
                        {"m": month, "s": 0.9 if drifted else 0.1, "d": drifted})
    with dg.instance_for_test() as instance:
        result = dg.materialize([calibration.judge_drift, calibration.judge_drift_check], instance=instance,
                                resources={"warehouse": warehouse, "judge": JudgeResource()},
                                selection=dg.AssetSelection.checks(calibration.judge_drift_check),
                                tags={RANGE_START_TAG: "2026-04-01", RANGE_END_TAG: "2026-06-01"})
        assert result.success  # a WARN check does not fail the run
        assert check_state(instance, calibration.judge_drift_check, monthly) == (
            {"2026-04-01": "SUCCEEDED", "2026-05-01": "SUCCEEDED", "2026-06-01": "FAILED"}, [])
    months = evaluations(result, "judge_drift_check")
    assert [months[m].metadata["drifted_rows"].value for m in ("2026-04-01", "2026-05-01", "2026-06-01")] == [0, 0, 1]
    assert months["2026-06-01"].metadata["drifted"].value == ["2026-06 j1 helpfulness (rescored): +0.90"]
    assert months["2026-06-01"].severity == dg.AssetCheckSeverity.WARN and not months["2026-06-01"].blocking


def test_eval_set_checks_record_each_quarter(resources, tmp_path):  # noqa: F811
    # production: three June days, all of topic coding (tests.conftest.record)
    assert dg.materialize([logs.ingested_logs, anonymize.clean_logs], resources=resources, tags=RANGE).success
    with connect(tmp_path / "warehouse.duckdb") as con:
        # Q2's eval set matches production and is clean; Q3's is all travel, with an e-mail address left in
        for quarter, stratum, response in (("2026-04-01", "coding", "hi"), ("2026-07-01", "travel", "mail maria.garcia@gmail.com")):
            for i in range(3):
                con.execute("insert into eval_set values ($q, 'v1', $id, 'head', $s, 'head', "
                            "[{'role': 'user', 'content': 'hello?'}], 'hello?', $r, null, null, now())",
                            {"q": quarter, "id": f"{quarter}-{i}", "s": stratum, "r": response})
    checks = (evalsets.eval_set_no_pii_residue, evalsets.eval_set_drift_check)
    with dg.instance_for_test() as instance:
        result = dg.materialize([evalsets.eval_set, *checks], instance=instance, raise_on_error=False,
                                resources={**resources, "pii": PiiResource(salt="k")},
                                selection=dg.AssetSelection.checks(*checks),
                                tags={RANGE_START_TAG: "2026-04-01", RANGE_END_TAG: "2026-07-01"})
        assert not result.success  # the residue check blocks
        for check in checks:
            assert check_state(instance, check, quarterly) == ({"2026-04-01": "SUCCEEDED", "2026-07-01": "FAILED"}, [])
    residue, drift = evaluations(result, "no_pii_residue"), evaluations(result, "eval_set_drift_check")
    assert [residue[q].metadata["residue_found"].value for q in ("2026-04-01", "2026-07-01")] == [0, 3]
    assert [drift[q].metadata["total_variation_distance"].value for q in ("2026-04-01", "2026-07-01")] == [0.0, 1.0]
