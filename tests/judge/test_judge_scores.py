"""judge_scores materialized after the eval set: scored, cached on rerun, imports validated."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from assets import privacy as anonymize, evalsets, judge as judging, logs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

ASSETS = [logs.ingested_logs, anonymize.clean_logs, evalsets.regression_set, evalsets.eval_set, judging.judge_scores]


def _meta(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "judge_scores"]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_eval_set_items_are_judged_once_and_imports_are_validated(demo_source, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(demo_source, source)
    with (source / "judgments" / "bad.jsonl").open("w") as fh:
        at = "2026-09-02T10:00:00Z"
        fh.write(json.dumps({"item_id": "x", "judge_model": "m", "rubric_version": "r", "dimension": "clarity", "score": 9,
                             "judged_at": at}) + "\n")
        fh.write(json.dumps({"item_id": "x", "judge_model": "m", "rubric_version": "r", "dimension": "tone", "score": 3,
                             "judged_at": at}) + "\n")
        fh.write("{broken\n")
        fh.write(json.dumps({"item_id": "x", "judge_model": "m", "rubric_version": "r", "dimension": "clarity", "score": 3}) + "\n")
        fh.write(json.dumps({"kind": "pairwise", "item_id": "x", "judge_model": "m", "rubric_version": "r", "variant_a": "p",
                             "variant_b": "q", "position": "up", "winner": "a", "judged_at": at}) + "\n")
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(source)),
                 "pii": PiiResource(salt="k"), "judge": JudgeResource()}
    assert dg.materialize(ASSETS[:2], resources=resources,
                          tags={RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-30"}).success
    assert dg.materialize(ASSETS, resources=resources, partition_key="2026-07-01",
                          selection=dg.AssetSelection.assets("regression_set", "eval_set")).success
    first = _meta(dg.materialize(ASSETS, resources=resources, selection=dg.AssetSelection.assets("judge_scores")))
    second = _meta(dg.materialize(ASSETS, resources=resources, selection=dg.AssetSelection.assets("judge_scores")))
    assert first["items"] == 200 and first["new_judgments"] == 200 and first["statuses"] == {"ok": 200}
    assert second["cache_hits"] == 200 and second["new_judgments"] == 0 and second["model_calls"] == 0
    assert first["judge_model"] == "evalfunnel/heuristic" and first["cost_usd"] == 0
    bias = {r.data["dimension"]: r.data["Spearman(score, length)"] for r in first["length_bias_spearman"].records}
    assert set(bias) == {"correctness", "relevance", "clarity", "calibration", "length"}
    assert all(-1 <= float(rho) <= 1 for rho in bias.values())
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        per_item = con.execute("select count(*), count(distinct item_id || dimension) from judge_scores "
                               "where source = 'eval_set'").fetchone()
        imported = con.execute("select count(*) from judge_scores where source = 'imported'").fetchone()[0]
        rejects = con.execute("select source_file, line, reason from judgment_rejects order by line").fetchall()
        pairs, pair_orders = con.execute("select count(*), list_distinct(list(position)) from pairwise_judgments "
                                         "where origin = 'imported'").fetchone()
        judged_months = {m for (m,) in con.execute("select distinct strftime(created_at, '%Y-%m') from judge_scores "
                                                   "where source = 'imported'").fetchall()}
    pair_orders = set(pair_orders)
    assert per_item == (1000, 1000)  # 200 items x 5 dimensions, no duplicates after two runs
    assert imported == second["imported_rows"] > 0
    assert [(f, n) for f, n, _ in rejects] == [("judgments/bad.jsonl", n) for n in range(1, 6)]
    assert "from 1 to 5, got 9" in rejects[0][2] and "unknown dimension 'tone'" in rejects[1][2] and rejects[2][2] == "not valid JSON"
    assert rejects[3][2] == "judged_at: missing or not an RFC 3339 string" and "position must be ab or ba" in rejects[4][2]
    # pairwise imports keep both orders, keyed to the variants; created_at is the judgment's own time
    assert pairs == second["imported_pairwise"] > 0 and pair_orders == {"ab", "ba"}
    assert judged_months == {"2026-09", "2026-10"}  # the fixture's two months
