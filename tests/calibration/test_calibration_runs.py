"""Calibration assets on the two-month demo fixture, with the judge behind the local HTTP
server: human_labels, judge_human_agreement and judge_drift, including a silent model update
(the server shifts its scores) and the imported judge's planted shift month (October here)."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

ASSETS = list(defs.assets) + list(defs.asset_checks)
IMPORTED = "imported:openai/gpt-4o-2024-08-06:rubric-v1"


def materialize(resources, names, **kwargs) -> dg.ExecuteInProcessResult:
    result = dg.materialize(ASSETS, resources=resources, selection=dg.AssetSelection.assets(*names), **kwargs)
    assert result.success
    return result


def check_passed(result: dg.ExecuteInProcessResult) -> bool:
    (evaluation,) = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return evaluation.passed


def test_agreement_and_drift_catch_a_silent_model_update(demo_source, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    with LocalLLMServer(Faults()) as server:
        resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
                     "pii": PiiResource(salt="k"),
                     "judge": JudgeResource(model="openai/judge", api_base=server.base_url, concurrency=8)}
        materialize(resources, ["raw_logs", "log_rejects", "clean_logs"],
                    tags={RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-10-31"})
        labels = materialize(resources, ["human_labels"])
        meta = {k: v.value for k, v in labels.asset_materializations_for_node("human_labels")[0].metadata.items()}
        assert meta["rejected"] == 2 and meta["read"] == meta["dagster/row_count"] + meta["rejected"] + meta["superseded"]
        materialize(resources, ["judge_scores"])
        calls_before = server.total_calls
        september = materialize(resources, ["judge_human_agreement", "judge_drift"], partition_key="2026-09-01")
        assert server.total_calls > calls_before  # the anchor set was re-scored for September
        assert check_passed(september)
        # the provider silently makes its model harsher on correctness
        server.faults.score_shift = {"correctness": -2}
        october = materialize(resources, ["judge_drift"], partition_key="2026-10-01")
        assert not check_passed(october)
        calls = server.total_calls
        materialize(resources, ["judge_drift"], partition_key="2026-10-01")
        assert server.total_calls == calls  # a re-run of the month is served from the cache
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        drift = {(str(m)[:7], v.split(":")[0], d, method): (shift, flag) for m, v, d, method, shift, flag in con.execute(
            "select month, judge_version, dimension, method, shift, drifted from judge_drift").fetchall()}
        agreement = {(v, d): (n, status) for v, d, n, status in con.execute(
            "select judge_version, dimension, n_items, status from judge_human_agreement "
            "where month = '2026-09-01' and kind = 'pointwise' and slice_dimension is null").fetchall()}
        rows = con.execute("select count(*) from judge_drift").fetchone()[0]
        ((version, n_items, annotators, by_ab, by_ba, by_both, pairs, human_kappa, pair_kappas, fleiss_raters,
          pair_status),) = con.execute(
            "select judge_version, n_items, annotators, accuracy_order_ab, accuracy_order_ba, accuracy_mean_orders, "
            "human_pairs, human_human_kappa, human_pair_kappas, fleiss_raters, status from judge_human_agreement "
            "where month = '2026-09-01' and kind = 'pairwise'").fetchall()
    pipeline_version = next(v for v, _ in agreement if v != IMPORTED)
    # September is every method's anchor: no shift; October's re-scored correctness moved by about -2
    assert all(shift == 0 and not flag for (m, _, _, method), (shift, flag) in drift.items() if m == "2026-09")
    shift, flag = drift[("2026-10", pipeline_version, "correctness", "rescored")]
    assert flag and shift < -1
    assert not any(flag for (m, v, d, method), (_, flag) in drift.items()
                   if m == "2026-10" and method == "rescored" and d != "correctness")
    # the imported judge's planted shift (harsher on correctness, clarity, calibration) in October
    for d in ("correctness", "clarity"):
        shift, flag = drift[("2026-10", "imported", d, "residual")]
        assert flag and shift < -0.5, (d, shift)
    assert rows == len(drift)  # the re-run replaced its rows
    # both judges are compared with the humans on the month's 40 labelled responses per dimension
    assert agreement[(IMPORTED, "correctness")] == (40, "ok") and agreement[(pipeline_version, "clarity")][0] == 40
    assert agreement[(IMPORTED, "calibration")][1] == "rubric_vague"  # the planted vague dimension
    # the imported pairwise judgments (both orders) against the month's 15 pairs, each labelled by
    # two of the three annotators: per-order accuracy, the annotator pairs' kappas and Fleiss' over
    # the items with two raters; too few items for a status
    assert (version, n_items, annotators, fleiss_raters, pair_status) == (IMPORTED, 15, 3, 2, "insufficient_data")
    assert by_both == pytest.approx((by_ab + by_ba) / 2)
    assert pairs == len(pair_kappas) >= 1 and all(p["n_items"] >= 5 for p in pair_kappas)
    assert human_kappa == pytest.approx(sum(p["kappa"] for p in pair_kappas) / pairs)


def test_correlation_uses_valid_pairs_only_and_lists_confident_mismatches(tmp_path):
    import datetime as dt

    from pipeline.calibration.offline_online import correlation_rows

    q = dt.date(2026, 7, 1)
    # six valid pairs where the judge predicts users well, one where it is confidently wrong,
    # and one SRM-invalid experiment that would look like a huge mismatch
    pairs = [(f"e{k}", 0.1 * k, 0.02 * k + 0.001, True, False) for k in range(1, 7)]
    pairs += [("wrong", 0.8, -0.15, True, False), ("broken", 1.5, -0.9, True, True)]
    with connect(tmp_path / "w.duckdb") as con:
        con.executemany(
            "insert into offline_online values (?, ?, 't', 'c', 'jv', 'clarity', 50, 50, 40, ?, ?, ?, 'thumbs_down_rate', "
            "'primary', false, 0, ?, 0, 0, 0.01, ?, ?, ?, now())",
            [(q, eid, jd, jd - 0.05, jd + 0.05, -ob, sig, ob, invalid) for eid, jd, ob, sig, invalid in pairs])
        rows = correlation_rows(con, dt.date(2026, 10, 1), resamples=200)
    (row,) = [r for r in rows if r["kind"] == "experiment"]
    assert row["n"] == 7  # the SRM-invalid experiment is left out
    assert len(row["mismatches"]) == 1 and row["mismatches"][0].startswith("wrong/t: judge +0.80 points, users worse")
    assert row["sign_agreement"] == pytest.approx(6 / 7) and row["status"] in ("predictive", "weak")
