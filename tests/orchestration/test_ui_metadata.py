"""The Dagster UI tells the truth about the warehouse: every table asset carries the columns the
warehouse really has (parsed from sql/schema/), every table is documented on some asset, every
asset has a description, kinds and a group, and what materializations report draws as tables or
markdown, never as markdown pipes in plain text."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource
from pipeline.table_docs import COMPANIONS, parse_schema
from pipeline.warehouse import SCHEMA, connect
from tests.logs.test_ui_metadata import markdown_as_text
from tests.sources.builders import build_source

SQL = """-- a note before the table
create table if not exists t (
    "timestamp" timestamptz not null,  -- when, UTC
    id varchar primary key,
    pair struct(a varchar, b integer)[] not null,  -- one line,
                                                    -- and its continuation
    -- rows of the second kind:
    n integer,
    tags varchar[]
);
-- added later: existing tables get it on connect
alter table t add column if not exists score double;  -- 0 to 1
-- why, when there is one
alter table t add column if not exists reason varchar;
"""


def test_parse_schema_reads_columns_types_and_comments():
    parsed = parse_schema(SQL)
    assert parsed.table == "t"
    assert [(c.name, c.type, c.nullable) for c in parsed.columns] == [
        ("timestamp", "timestamptz", False), ("id", "varchar", False), ("pair", "struct(a varchar, b integer)[]", False),
        ("n", "integer", True), ("tags", "varchar[]", True), ("score", "double", True), ("reason", "varchar", True)]
    comments = {c.name: c.comment for c in parsed.columns}
    assert comments["timestamp"] == "when, UTC" and comments["pair"] == "one line, and its continuation"
    assert comments["score"] == "0 to 1" and comments["reason"] == "why, when there is one" and comments["n"] == ""
    assert [c.name for c in parsed.columns if c.primary_key] == ["id"]
    assert parsed.notes == ("a note before the table", "rows of the second kind:",
                            "added later: existing tables get it on connect")


def test_parse_schema_refuses_what_it_cannot_read():
    assert [c.name for c in parse_schema("create table t (a integer not null);").columns] == ["a"]
    with pytest.raises(ValueError):
        parse_schema("select 1")
    with pytest.raises(ValueError, match="one column per line"):
        parse_schema("create table t (a integer, b varchar);")
    with pytest.raises(ValueError):
        parse_schema("create table t (a integer);\nalter table other add column b integer;")


def _columns(con, table: str) -> list[tuple[str, str, bool]]:
    return [(name, kind, null == "YES") for name, kind, null, *_ in con.execute(f'describe "{table}"').fetchall()]


def _declared(con, schema: dg.TableSchema) -> list[tuple[str, str, bool]]:
    """The schema's columns with DuckDB's own spelling of each type (timestamptz -> TIMESTAMP WITH TIME ZONE)."""
    return [(c.name, con.execute(f"select typeof(cast(null as {c.type}))").fetchone()[0], c.constraints.nullable)
            for c in schema.columns]


def test_every_table_asset_shows_the_warehouse_columns(tmp_path):
    graph = defs.resolve_asset_graph()
    nodes = {k.to_user_string(): graph.get(k) for k in graph.get_all_asset_keys()}
    companions = {c for tables in COMPANIONS.values() for c in tables}
    assert set(COMPANIONS) <= set(nodes) and not companions & set(nodes)
    # every warehouse table is an asset's own or documented beside the asset that writes it
    assert {t for t in SCHEMA if t in nodes} | companions == set(SCHEMA)
    for name, node in nodes.items():
        assert node.description and node.kinds and node.group_name and node.group_name != "default", name
    with connect(tmp_path / "warehouse.duckdb") as con:
        for name, node in nodes.items():
            if name not in SCHEMA:
                assert "dagster/column_schema" not in node.metadata, name  # the report is a page, not a table
                continue
            schema = node.metadata["dagster/column_schema"]
            assert isinstance(schema, dg.TableSchema), name
            assert _declared(con, schema) == _columns(con, name), name
            assert node.metadata["dagster/table_name"] == f"warehouse.main.{name}"
            for companion in COMPANIONS.get(name, {}):
                assert _declared(con, node.metadata[f"columns_of_{companion}"]) == _columns(con, companion), companion
        # the comments in sql/schema/ reach the UI
        drift = {c.name: c.description for c in nodes["judge_drift"].metadata["dagster/column_schema"].columns}
        assert drift["shift"] == "month - anchor, in scale points" and drift["reason"].startswith("why no test was run")


def test_materializations_show_tables_not_markdown_pipes(tmp_path):
    """Every asset the source feeds, materialized in process as `evalfunnel run` would (a June 2026
    source: its days, month and quarter); no metadata value is markdown left as plain text."""
    source = build_source(tmp_path / "src", ("all",))
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(source)),
                 "pii": PiiResource(salt="k"), "judge": JudgeResource()}
    june = {RANGE_START_TAG: "2026-06-01", RANGE_END_TAG: "2026-06-30"}
    steps = [(("raw_logs", "log_rejects", "clean_logs"), {"tags": june}),
             (("regression_set", "human_labels"), {}),
             (("eval_set",), {"partition_key": "2026-04-01"}),
             (("experiment_samples",), {"partition_key": "2026-06-01"}),
             (("judge_scores", "candidate_responses", "candidate_scores", "pairwise_judgments", "variant_ratings",
               "pareto_frontier", "regression_results", "user_metrics", "experiment_results", "experiment_summary"), {}),
             (("judge_human_agreement", "judge_drift", "label_queue", "ppi_estimates"), {"partition_key": "2026-06-01"}),
             (("offline_online", "offline_online_correlation"), {"partition_key": "2026-04-01"}),
             (("calibration_history", "calibration_forecast", "report"), {})]
    seen, bad, last = set(), [], {}
    for names, kwargs in steps:
        # the checks have tests of their own; these runs are about what the assets report
        result = dg.materialize(list(defs.assets), resources=resources,
                                selection=dg.AssetSelection.assets(*names).without_checks(), **kwargs)
        assert result.success, names
        for event in result.get_asset_materialization_events():
            key = event.asset_key.to_user_string()
            seen.add(key)
            last[key] = event.materialization.metadata
            bad += [f"{key}: {k}" for k in markdown_as_text(event.materialization.metadata)]
    every_asset = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert seen == every_asset and bad == []
    # pairwise_judgments counts the whole table, the imported verdicts judge_scores writes into it included
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        total, imported = con.execute("select count(*), count(*) filter (origin = 'imported') "
                                      "from pairwise_judgments").fetchone()
    pairwise, scores = last["pairwise_judgments"], last["judge_scores"]
    assert imported > 0 and pairwise["dagster/row_count"].value == total
    by_origin = {}
    for r in pairwise["rows_by_origin"].records:
        by_origin[r.data["origin"]] = by_origin.get(r.data["origin"], 0) + r.data["rows"]
    assert by_origin == {"imported": imported, "pipeline": total - imported}
    assert pairwise["judged_this_run"].value == total - imported  # one judge version in this warehouse
    [wrote] = scores["also_wrote"].records
    assert wrote.data == {"table": "pairwise_judgments", "origin": "imported", "rows": imported}


def test_asset_modules_import_without_dagster_warnings():
    """The Beta/Preview warnings this project accepts are filtered in the assets package itself, so
    importing one asset module (a test, a notebook) is as quiet as loading the definitions."""
    import subprocess
    import sys

    modules = ", ".join(f"assets.{m}" for m in ("logs", "privacy", "judge", "calibration", "evalsets",
                                                "experiments", "report"))
    done = subprocess.run([sys.executable, "-W", "error", "-c", f"import {modules}"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
