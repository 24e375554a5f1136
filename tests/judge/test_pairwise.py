"""Candidates judged against the baseline in both orders, rated and placed on the frontier."""

from __future__ import annotations

import dagster as dg

from assets import judge as judging
from pipeline.judge.pairwise import pareto, variant_winner
from pipeline.judge.ratings import Rating
from pipeline.resources import JudgeResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

ASSETS = [judging.candidate_responses, judging.pairwise]


def test_candidates_are_judged_in_both_orders_rated_and_cached(demo_source, tmp_path):
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
                 "judge": JudgeResource()}
    first = dg.materialize(ASSETS, resources=resources)
    second = dg.materialize(ASSETS, resources=resources)
    assert first.success and second.success
    meta = {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
            for e in second.get_asset_materialization_events()}
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        shared = con.execute("select count(*) from candidate_responses c where variant <> 'baseline' and exists "
                             "(select 1 from candidate_responses b where b.item_id = c.item_id and b.variant = 'baseline')"
                             ).fetchone()[0]
    assert meta["pairwise_judgments"]["model_calls"] == 0 and meta["pairwise_judgments"]["cache_hits"] == 2 * shared
    assert meta["variant_ratings"]["charts"].count("data:image/png;base64,") == 2  # ratings and Pareto, in the UI
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        orders = con.execute("select position, count(*) from pairwise_judgments group by 1 order by 1").fetchall()
        per_pair = con.execute("select count(*) from (select item_id, variant_a from pairwise_judgments "
                               "group by 1, 2 having count(distinct position) = 2)").fetchone()[0]
        ratings = con.execute("select variant, length_controlled, rating, ci_low, ci_high, n_comparisons "
                              "from variant_ratings order by length_controlled, rating desc").fetchall()
        frontier = dict(con.execute("select variant, on_frontier from pareto_frontier").fetchall())
    assert orders == [("ab", shared), ("ba", shared)] and per_pair == shared  # every candidate pair, both orders
    assert {v for v, *_ in ratings} == {"baseline", "concise-v2", "detailed-v3", "large-model"}
    assert len(ratings) == 8 and all(lo <= r <= hi for _, _, r, lo, hi, _ in ratings)
    assert frontier["baseline"] or frontier["concise-v2"]  # something cheap is always on the frontier


def test_the_shown_order_maps_back_to_variants():
    assert variant_winner("a", "ab") == "a" and variant_winner("a", "ba") == "b"
    assert variant_winner("b", "ba") == "a" and variant_winner("tie", "ba") == "tie"


def test_pareto_frontier_rule():
    def r(name: str, rating: float) -> Rating:
        return Rating(name, "base", rating, rating - 10, rating + 10, None, 10, False)

    costs = {"cheap": (0.001, 100, 200), "best": (0.010, 300, 600), "dominated": (0.012, 300, 700), "base": (0.001, 100, 200)}
    points = {p["variant"]: p["on_frontier"] for p in pareto([r("cheap", 1010), r("best", 1100), r("dominated", 1050),
                                                              r("base", 1000)], costs)}
    # base ties cheap on cost and latency but rates lower: dominated; dominated is worse than best on all three
    assert points == {"cheap": True, "best": True, "dominated": False, "base": False}


def test_round_robin_judges_every_pair_of_variants():
    import polars as pl

    from pipeline.judge.pairwise import pairwise_tasks
    from pipeline.judge.rubric import load_rubric

    rows = [{"item_id": "q1", "variant": v, "messages": [{"role": "user", "content": "hi"}], "response": f"answer {v}"}
            for v in ("base", "x", "y")]
    frame = pl.DataFrame(rows)
    vs_base = pairwise_tasks(frame, "base", load_rubric(), "v")
    everyone = pairwise_tasks(frame, "base", load_rubric(), "v", round_robin=True)
    assert {(t.meta["variant_a"], t.meta["variant_b"]) for t in vs_base} == {("x", "base"), ("y", "base")}
    assert {(t.meta["variant_a"], t.meta["variant_b"]) for t in everyone} == {("base", "x"), ("base", "y"), ("x", "y")}
    assert len(everyone) == 6 and {t.meta["position"] for t in everyone} == {"ab", "ba"}
