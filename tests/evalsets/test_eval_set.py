"""regression_set and eval_set materialized in process on generated data."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from assets import privacy as anonymize, evalsets, logs
from pipeline.evalsets.sampling import normalize
from pipeline.evalsets.versions import eval_set_drift
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

ASSETS = [logs.ingested_logs, logs.raw_logs_contract, anonymize.clean_logs, anonymize.no_pii_residue,
          evalsets.regression_set, evalsets.eval_set, evalsets.eval_set_no_pii_residue, evalsets.eval_set_drift_check]
Q3 = date(2026, 7, 1)


@pytest.fixture
def built(demo_source, tmp_path):
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
                 "pii": PiiResource(salt="k")}
    tags = {RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-30"}
    days = dg.materialize(ASSETS[:5], resources=resources, tags=tags)
    quarter = dg.materialize(ASSETS, resources=resources, partition_key="2026-07-01",
                             selection=dg.AssetSelection.assets("eval_set"))
    return resources, tmp_path / "warehouse.duckdb", days, quarter


def test_eval_set_is_stratified_clean_and_disjoint_from_the_regression_set(built):
    _, warehouse, days, quarter = built
    assert days.success and quarter.success
    checks = {e.check_name: e for e in quarter.get_asset_check_evaluations()}
    assert checks["no_pii_residue"].passed and checks["eval_set_drift_check"].passed
    with connect(warehouse, read_only=True) as con:
        items = con.execute("select item_id, kind, query from eval_set where quarter = $q", {"q": Q3}).fetchall()
        cases = [r[0] for r in con.execute("select query from regression_set").fetchall()]
        kinds = dict(con.execute("select kind, count(*) from eval_set group by kind").fetchall())
        raw_ids = {r[0] for r in con.execute("select request_id from clean_logs where log_date < '2026-10-01'").fetchall()}
    assert len(items) == 200 and kinds == {"head": 140, "known_failure": 30, "edge_case": 30}
    assert {i for i, _, _ in items} <= raw_ids  # drawn from the quarter's logs only
    assert not {normalize(q) for _, _, q in items} & {normalize(c) for c in cases}


def test_rebuild_is_the_same_version(built):
    resources, warehouse, _, _ = built
    with connect(warehouse, read_only=True) as con:
        before = con.execute("select version_id, count(*) from eval_set group by 1").fetchall()
    assert dg.materialize(ASSETS, resources=resources, partition_key="2026-07-01",
                          selection=dg.AssetSelection.assets("eval_set")).success
    with connect(warehouse, read_only=True) as con:
        after = con.execute("select version_id, count(*) from eval_set group by 1").fetchall()
        versions = con.execute("select count(*) from eval_set_versions").fetchone()[0]
    assert before == after and versions == 1


def test_drift_fires_when_production_moves_away(built):
    _, warehouse, _, _ = built
    with connect(warehouse) as con:
        assert eval_set_drift(con, Q3, ("topic",)).tvd < 0.1
        # production turns into mostly travel questions
        con.execute("update clean_logs set metadata = json_merge_patch(metadata, '{\"topic\": \"travel\"}') "
                    "where hash(request_id) % 10 < 6")
        report = eval_set_drift(con, Q3, ("topic",))
    assert report.tvd > 0.3 and report.production_mix["travel"] > 0.6


def test_ner_pass_removes_names_without_cues_from_eval_set_items(demo_source, tmp_path):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": [{"TEXT": "Maria"}, {"IS_TITLE": True}]}])
    nlp.to_disk(tmp_path / "ner")
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
                 "pii": PiiResource(salt="k", ner_model=str(tmp_path / "ner"))}
    tags = {RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-30"}
    assert dg.materialize(ASSETS[:5], resources=resources, tags=tags).success
    with connect(tmp_path / "warehouse.duckdb") as con:
        # a name with no cue word: the regex anonymizer cannot know it is one
        con.execute("update clean_logs set response = response || ' Best, Maria Novak'")
    result = dg.materialize(ASSETS, resources=resources, partition_key="2026-07-01", selection=dg.AssetSelection.assets("eval_set"))
    assert result.success
    meta = {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
    assert meta["ner_backend"] == "presidio" and meta["ner_names_replaced"] >= 200
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        leaked = con.execute("select count(*) from eval_set where response like '%Maria Novak%'").fetchone()[0]
        replaced = con.execute("select count(*) from eval_set where response like '%Best, <PERSON_%'").fetchone()[0]
    assert leaked == 0 and replaced == 200
