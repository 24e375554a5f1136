"""Stratified drawing: allocation, determinism, near-duplicates, regression exclusion, drift."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.evalsets import sampling
from pipeline.evalsets.sampling import EvalSetConfig, allocate, draw, total_variation


@pytest.mark.parametrize("total, mix, minimum", [
    (140, {"coding": 0.6, "billing": 0.2, "writing": 0.1, "travel": 0.1}, 5),
    (97, {"a": 0.55, "b": 0.3, "c": 0.1, "d": 0.04, "e": 0.01}, 3),
    (10, {"a": 0.9, "b": 0.05, "c": 0.05}, 2),
    (7, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 0),
])
def test_allocation_sums_respects_minimum_and_is_within_one_of_target(total, mix, minimum):
    out = allocate(total, mix, minimum)
    assert sum(out.values()) == total
    floor = min(minimum, total // len(mix))
    rest = total - floor * len(mix)
    for group, share in mix.items():
        assert out[group] >= floor
        assert abs(out[group] - (floor + rest * share)) < 1.0, (group, out[group])


def _pool(n_per_stratum: dict[str, int], seed: int = 0, kinds=("head",)) -> pl.DataFrame:
    rows = []
    order = {"known_failure": 0, "edge_case": 1, "head": 2}
    for stratum, n in n_per_stratum.items():
        for i in range(n):
            text = f"{stratum} question number {i} about {'x' * (i % 7)} topic {i * 7919 % 1000}"
            for kind in kinds:
                grp = stratum if kind == "head" else {"known_failure": "thumbs_down", "edge_case": "long_input"}[kind]
                rows.append({"kind": kind, "kind_order": order[kind], "grp": grp, "request_id": f"{stratum}-{i}",
                             "user_text": text, "query": text, "response": "r", "stratum": stratum})
    frame = pl.DataFrame(rows)
    ranks = frame.with_columns(pl.col("request_id").hash(seed).alias("h")).with_columns(
        pl.col("h").rank("ordinal").over("kind", "grp").alias("rank"))
    return ranks.drop("h")


def test_draw_fills_quotas_in_production_proportion_and_is_deterministic():
    mix = {"coding": 0.6, "billing": 0.2, "writing": 0.1, "travel": 0.1}
    pool = _pool({"coding": 300, "billing": 200, "writing": 100, "travel": 100}, kinds=("head", "known_failure", "edge_case"))
    config = EvalSetConfig(size=100)
    first, second = draw(pool, config, mix, []), draw(pool, config, mix, [])
    assert first.items.equals(second.items) and first.items.height == 100 and not first.shortfall
    head = dict(first.items.filter(pl.col("kind") == "head").group_by("grp").len().iter_rows())
    assert head == allocate(70, mix, config.min_per_stratum)
    assert first.items.get_column("request_id").n_unique() == 100  # no request twice


def test_a_different_seed_draws_other_items():
    mix = {"a": 1.0}
    one = draw(_pool({"a": 300}, seed=1), EvalSetConfig(size=20, head_share=1.0, failure_share=0, edge_share=0), mix, [])
    two = draw(_pool({"a": 300}, seed=2), EvalSetConfig(size=20, head_share=1.0, failure_share=0, edge_share=0), mix, [])
    assert set(one.items["request_id"]) != set(two.items["request_id"])


def test_near_duplicates_and_regression_queries_are_skipped():
    texts = ["How do I reverse a list in Python?", "how do i reverse a list in python", "How do I revrse a list in Python??",
             "My email is <EMAIL_11111111>. How do I reverse a list in Python?",
             "My email is <EMAIL_22222222>. How do I reverse a list in Python?",
             "What is the refund window?", "Plan a 3 day trip to Lisbon", "Plan a 3 day trip to Lisbon please"]
    pool = pl.DataFrame({"kind": "head", "kind_order": 2, "grp": "s", "request_id": [f"r{i}" for i in range(len(texts))],
                         "user_text": texts, "rank": list(range(1, len(texts) + 1))})
    config = EvalSetConfig(size=10, head_share=1.0, failure_share=0, edge_share=0, min_per_stratum=0)
    drawn = draw(pool, config, {"s": 1.0}, regression_texts=["What is the refund window"])
    assert drawn.items["user_text"].to_list() == [texts[0], texts[3], texts[6]]
    assert drawn.skipped_regression == 1 and drawn.skipped_near_duplicates == 4
    assert drawn.shortfall == {("head", "*"): 7}


def test_a_group_short_of_candidates_passes_its_quota_on():
    pool = _pool({"a": 40}, kinds=("head", "edge_case")).filter(~((pl.col("kind") == "edge_case") & (pl.col("rank") > 2)))
    drawn = draw(pool, EvalSetConfig(size=20, head_share=0.5, failure_share=0.0, edge_share=0.5), {"a": 1.0}, [])
    assert drawn.items.height == 20 and drawn.items.filter(pl.col("kind") == "edge_case").height == 2
    assert drawn.moved == {("head", "a"): 8}


MIX = {"coding": 0.6, "billing": 0.2, "writing": 0.1, "travel": 0.1}


def test_no_failures_or_edge_cases_passes_their_quota_to_the_head():
    # issue 13 item 7: a 100-item set came out with 70 items and no shortfall
    pool = _pool({"coding": 300, "billing": 200, "writing": 100, "travel": 100})
    config = EvalSetConfig(size=100)
    drawn = draw(pool, config, MIX, [])
    assert drawn.items.height == 100 and not drawn.shortfall
    assert set(drawn.items["kind"]) == {"head"} and drawn.items["request_id"].n_unique() == 100
    # the 15 + 15 go to the strata in proportion to production, on top of the head's own 70
    assert drawn.moved == {("head", s): allocate(15, MIX)[s] * 2 for s in MIX}
    head = dict(drawn.items.group_by("grp").len().iter_rows())
    assert head == {s: allocate(70, MIX, config.min_per_stratum)[s] + drawn.moved[("head", s)] for s in MIX}


def test_a_pool_too_small_reports_what_no_group_could_fill():
    pool = _pool({"coding": 40, "billing": 20, "writing": 10, "travel": 10})
    drawn = draw(pool, EvalSetConfig(size=100), MIX, [])
    unique = pool.filter(pl.col("kind") == "head").height - drawn.skipped_near_duplicates
    assert drawn.items.height == unique < 100  # every acceptable candidate is drawn
    assert sum(drawn.shortfall.values()) == 100 - drawn.items.height
    assert drawn.shortfall[("known_failure", "*")] == 15 and drawn.shortfall[("edge_case", "*")] == 15


def test_a_short_head_takes_from_failures_and_edge_cases_left_over():
    head = _pool({"a": 4})
    extra = _pool({"b": 40}, kinds=("known_failure", "edge_case"))
    pool = pl.concat([head, extra.with_columns(pl.col("request_id") + "-x")])
    config = EvalSetConfig(size=20, head_share=0.5, failure_share=0.25, edge_share=0.25, min_per_stratum=0)
    drawn = draw(pool, config, {"a": 1.0}, [])
    assert drawn.items.height == 20 and not drawn.shortfall
    kinds = dict(drawn.items.group_by("kind").len().iter_rows())
    assert kinds == {"head": 4, "known_failure": 8, "edge_case": 8}
    assert drawn.moved == {("known_failure", "thumbs_down"): 3, ("edge_case", "long_input"): 3}


def test_no_production_at_all_passes_the_head_quota_on():
    pool = _pool({"b": 40}, kinds=("known_failure",))
    drawn = draw(pool, EvalSetConfig(size=20, head_share=0.5, failure_share=0.5, edge_share=0.0), {}, [])
    assert drawn.items.height == 20 and drawn.moved == {("known_failure", "thumbs_down"): 10} and not drawn.shortfall


def test_kind_quotas_always_sum_to_the_size_and_never_go_negative():
    # rounding each share on its own gave 2 + 2 + (-1) at size 3 with shares 0 / 0.5 / 0.5, and the
    # negative head quota then drew the whole pool (70 items, shortfall -67)
    for size in (1, 2, 3, 7, 11, 100):
        for shares in ((0.0, 0.5, 0.5), (0.7, 0.15, 0.15), (1 / 3, 1 / 3, 1 / 3), (0.5, 0.25, 0.25)):
            config = EvalSetConfig(size=size, head_share=shares[0], failure_share=shares[1], edge_share=shares[2])
            quota = sampling.kind_quotas(config)
            assert sum(quota.values()) == size and min(quota.values()) >= 0, (size, shares, quota)
            assert all(abs(quota[k] - size * w) < 1 for k, w in zip(("head", "known_failure", "edge_case"), shares))
    pool = _pool({"a": 70}, kinds=("head", "known_failure", "edge_case"))
    drawn = draw(pool, EvalSetConfig(size=3, head_share=0.0, failure_share=0.5, edge_share=0.5), {"a": 1.0}, [])
    assert drawn.items.height == 3 and not drawn.shortfall


def test_total_variation_distance():
    assert total_variation({"a": 0.6, "b": 0.4}, {"a": 0.6, "b": 0.4}) == 0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1
    assert total_variation({"a": 60, "b": 40}, {"a": 0.5, "b": 0.3, "c": 0.2}) == pytest.approx(0.2)


def test_changelog_reasons():
    previous = {"x": "head:a", "y": "head:a", "z": "head:b"}
    current = {"x": "head:a", "w": "edge_case:refusal"}
    assert sampling.changelog(previous, current, in_window={"y"}, in_regression={"z"}) == [
        ("w", "added", "edge_case:refusal"), ("y", "removed", "not drawn this time"),
        ("z", "removed", "matches a regression case")]


def test_config_rejects_shares_that_do_not_sum_to_one():
    with pytest.raises(ValueError, match="shares must sum to 1"):
        EvalSetConfig(head_share=0.8)
