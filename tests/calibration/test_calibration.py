"""judge_human_agreement rows from hand-made labels: consensus, status rules, pairwise
majorities (a tie vote counts), per-order accuracy and position consistency, annotator-pair and
Fleiss' kappas, the rubric's scale, the schema upgrade of an old warehouse, and de-duplicated,
validated human labels. References: hand-computed figures (exact), scikit-learn's
cohen_kappa_score and statsmodels' fleiss_kappa (to 1e-12: floating-point rounding only)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import duckdb
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from pipeline.calibration.consensus import (
    COLUMNS,
    Item,
    majority,
    pairwise_row,
    pointwise_row,
    status,
    store_agreement,
)
from pipeline.calibration.human_labels import load_labels
from pipeline.judge.rubric import load_rubric
from pipeline.warehouse import connect


def items(judge_offset: float, n: int, seed: int = 0, human_noise: float = 0.4) -> list[Item]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        truth = rng.integers(1, 6)
        humans = {a: int(np.clip(round(truth + rng.normal(0, human_noise)), 1, 5)) for a in ("h1", "h2", "h3")}
        judge = int(np.clip(round(truth + judge_offset + rng.normal(0, 0.3)), 1, 5))
        out.append(Item((f"i{k}", ""), judge, humans, None))
    return out


def test_consensus_is_the_median_rounded_half_up():
    assert Item(("x", ""), 3, {"a": 2, "b": 3}, None).consensus == 3  # median 2.5
    assert Item(("x", ""), 3, {"a": 1, "b": 4, "c": 5}, None).consensus == 4


def test_a_close_judge_is_ok_and_a_shifted_one_must_recalibrate():
    good = pointwise_row(items(0.0, 40), resamples=200)
    assert good["status"] == "ok" and good["within_one_agreement"] > 0.9
    consensus = [i.consensus for i in items(0.0, 40)]
    judge = [i.judge for i in items(0.0, 40)]
    assert good["kappa_linear"] == pytest.approx(cohen_kappa_score(judge, consensus, weights="linear", labels=[1, 2, 3, 4, 5]))
    assert good["within_one_ci_low"] <= good["within_one_agreement"] <= good["within_one_ci_high"]
    shifted = pointwise_row(items(1.8, 40), resamples=200)
    assert shifted["status"] == "recalibrate" and shifted["within_one_agreement"] < 0.8
    assert shifted["alpha_with_judge"] < shifted["alpha_humans"]


def test_status_order_and_thresholds():
    assert status(19, 1.0, 1.0, 1.0) == "insufficient_data"
    assert status(40, 1.0, 1.0, 0.59) == "rubric_vague"
    assert status(40, 0.79, 0.9, 0.9) == "recalibrate" and status(40, 0.9, 0.49, 0.9) == "recalibrate"
    assert status(40, 0.8, 0.5, 0.6) == "ok"
    vague = pointwise_row(items(0.0, 40, human_noise=2.5), resamples=100)
    assert vague["status"] == "rubric_vague" and vague["human_human_kappa"] < 0.6


def test_pairwise_majority_ties_and_position_consistency():
    rows = [
        # i1: humans a, a, b -> a; judge a in both orders -> agrees, consistent
        ("i1", "p", "q", "h1", "a", "ab", "a"), ("i1", "p", "q", "h2", "a", "ba", "a"), ("i1", "p", "q", "h3", "b", "ab", "a"),
        # i2: humans a, b -> tie; judge b then a -> inconsistent, counted as a tie -> agrees with ties only
        ("i2", "p", "q", "h1", "a", "ab", "b"), ("i2", "p", "q", "h2", "b", "ba", "a"),
        # i3: humans b; judge a both orders -> disagrees
        ("i3", "p", "q", "h1", "b", "ab", "a"), ("i3", "p", "q", "h1", "b", "ba", "a"),
    ]
    row = pairwise_row(rows)
    assert row["n_items"] == 3 and row["position_consistency"] == pytest.approx(2 / 3)
    assert row["agreement_with_ties"] == pytest.approx(2 / 3) and row["agreement_without_ties"] == pytest.approx(1 / 2)
    assert row["status"] == "insufficient_data"


def judged_both_orders(item: str, votes: dict[str, str], ab: str, ba: str) -> list[tuple]:
    """pairwise_pairs rows: each human label joined with the judge's verdict in each order."""
    return [(item, "p", "q", ann, vote, position, winner)
            for ann, vote in votes.items() for position, winner in (("ab", ab), ("ba", ba))]


def test_a_tie_vote_counts_in_the_human_majority():
    assert majority(["tie", "tie", "a"]) == "tie"  # the tie votes were dropped before: "a"
    assert majority(["a", "a", "tie"]) == "a" and majority(["b", "tie", "b"]) == "b"
    assert majority(["a", "b", "tie"]) == "tie"  # a three-way split: no winner
    assert majority(["a", "tie"]) == "tie" and majority(["a", "b"]) == "tie"  # the top count shared
    assert majority(["a", "a", "b", "b", "tie"]) == "tie"
    # a judge that says tie where two of three humans said tie is right (the old rule dropped the
    # tie votes, so the majority was the lone a or b vote and the judge was wrong: 1 of 4 right)
    rows = judged_both_orders("i1", {"h1": "tie", "h2": "tie", "h3": "a"}, "tie", "tie")
    rows += judged_both_orders("i2", {"h1": "tie", "h2": "tie", "h3": "b"}, "tie", "tie")
    rows += judged_both_orders("i3", {"h1": "a", "h2": "a", "h3": "tie"}, "a", "a")
    rows += judged_both_orders("i4", {"h1": "a", "h2": "b", "h3": "tie"}, "b", "b")  # a three-way split: tie
    row = pairwise_row(rows)
    assert row["agreement_with_ties"] == pytest.approx(3 / 4)
    assert row["agreement_without_ties"] == pytest.approx(1.0)  # i3 only: the others have a tie side
    assert row["n_labels"] == 12  # human labels, not label x judge-order rows
    verdicts, humans = ["tie", "tie", "a", "b"], ["tie", "tie", "a", "tie"]
    assert row["kappa"] == pytest.approx(cohen_kappa_score(verdicts, humans, labels=["a", "b", "tie"]), abs=1e-12)


def test_per_order_accuracy_reproduces_the_published_average_over_both_orders():
    # 20 pairs, humans unanimous for a; the judge picks a in order ab on 16 and in order ba on 12
    # (items 0-11 both, 12-15 only in ab: swayed by position; 16-19 neither): a paper that swaps
    # positions publishes (16/20 + 12/20) / 2 = 70% accuracy and 16/20 = 80% position consistency
    rows = []
    for k in range(20):
        ab, ba = ("a", "a") if k < 12 else (("a", "b") if k < 16 else ("b", "b"))
        rows += judged_both_orders(f"i{k:02d}", {"h1": "a", "h2": "a"}, ab, ba)
    row = pairwise_row(rows)
    assert row["accuracy_order_ab"] == pytest.approx(0.8) and row["accuracy_order_ba"] == pytest.approx(0.6)
    assert row["accuracy_mean_orders"] == pytest.approx(0.7) and row["position_consistency"] == pytest.approx(0.8)
    # the combined-order figures stay: an order disagreement is a tie, so 12 right of 20 with
    # ties and 12 of the 16 items without a tie side
    assert row["agreement_with_ties"] == pytest.approx(0.6) and row["agreement_without_ties"] == pytest.approx(0.75)
    # only one order judged on some items: each order's accuracy is over its own items
    single = pairwise_row(rows + [("j1", "p", "q", "h1", "a", "ab", "b")])
    assert single["accuracy_order_ab"] == pytest.approx(16 / 21) and single["accuracy_order_ba"] == pytest.approx(0.6)


def annotated_pairs(seed: int, n: int, pool: tuple[str, ...], raters) -> dict[str, dict[str, str]]:
    """item -> {annotator: vote} with a noisy shared truth; raters(k) annotators on item k."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "tie"]
    out = {}
    for k in range(n):
        truth = rng.choice(labels, p=[0.45, 0.35, 0.2])
        chosen = rng.choice(pool, raters(k), replace=False)
        out[f"i{k:02d}"] = {str(a): str(truth if rng.random() < 0.7 else rng.choice(labels)) for a in sorted(chosen)}
    return out


def test_pairwise_annotator_kappas_and_fleiss_match_sklearn_and_statsmodels():
    labels = ["a", "b", "tie"]
    # 40 pairs, four annotators, three on most items, two on every fifth, all four on two items
    votes = annotated_pairs(3, 40, ("h1", "h2", "h3", "h4"), lambda k: 4 if k in (7, 13) else (2 if k % 5 == 0 else 3))
    rows = [r for item, v in votes.items() for r in judged_both_orders(item, v, "a", "a")]
    row = pairwise_row(rows)
    expected = {}
    for x, y in itertools.combinations(("h1", "h2", "h3", "h4"), 2):
        common = [i for i, v in votes.items() if x in v and y in v]
        expected[(x, y)] = (len(common), cohen_kappa_score([votes[i][x] for i in common], [votes[i][y] for i in common],
                                                           labels=labels))
    assert all(n >= 5 for n, _ in expected.values())
    stored = {(p["annotator_a"], p["annotator_b"]): (p["n_items"], p["kappa"]) for p in row["human_pair_kappas"]}
    assert stored.keys() == expected.keys() and row["human_pairs"] == 6
    for pair, (n, kappa) in expected.items():
        assert stored[pair][0] == n and stored[pair][1] == pytest.approx(kappa, abs=1e-12)
    assert row["human_human_kappa"] == pytest.approx(np.mean([k for _, k in expected.values()]), abs=1e-12)
    # Fleiss on the 30 items with three raters (the most common number); the others left out
    three = np.array([[labels.index(x) for x in v.values()] for v in votes.values() if len(v) == 3])
    table, _ = aggregate_raters(three, n_cat=3)
    assert (row["fleiss_items"], row["fleiss_raters"]) == (30, 3)
    assert row["fleiss_kappa"] == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)
    # two annotators: their Cohen's kappa is the whole story, no Fleiss
    two = annotated_pairs(4, 25, ("h1", "h2"), lambda k: 2)
    pair = pairwise_row([r for item, v in two.items() for r in judged_both_orders(item, v, "a", "a")])
    assert pair["fleiss_kappa"] is None and pair["human_pairs"] == 1
    assert pair["human_human_kappa"] == pytest.approx(cohen_kappa_score(
        [v["h1"] for v in two.values()], [v["h2"] for v in two.values()], labels=labels), abs=1e-12)


def test_pairwise_status_puts_vague_humans_before_the_judge():
    # 24 pairs where the two annotators agree only by chance: the humans set no ceiling
    votes = {f"i{k:02d}": {"h1": "ab"[k % 2], "h2": "ab"[(k // 2) % 2]} for k in range(24)}
    row = pairwise_row([r for item, v in votes.items() for r in judged_both_orders(item, v, "a", "a")])
    assert row["human_human_kappa"] == pytest.approx(0.0) and row["status"] == "rubric_vague"
    # humans unanimous; the judge says tie on the rest: right on 20 of 24 (kappa 0.71) or 18 (0.60),
    # never the other winner: ok; says tie on 12 of 24 (kappa 0.33): recalibrate
    for right, state in ((20, "ok"), (18, "ok"), (12, "recalibrate")):
        rows = []
        for k in range(24):
            human = "ab"[k % 2]
            rows += judged_both_orders(f"i{k:02d}", {"h1": human, "h2": human}, *(2 * (human if k < right else "tie",)))
        row = pairwise_row(rows)
        assert row["status"] == state and row["agreement_without_ties"] == 1.0
    # the judge picks the other winner on 6 of 24 (75% without ties, kappa 0.5): recalibrate
    rows = []
    for k in range(24):
        human = "ab"[k % 2]
        judge = human if k >= 6 else "ba"[k % 2]
        rows += judged_both_orders(f"i{k:02d}", {"h1": human, "h2": human}, judge, judge)
    row = pairwise_row(rows)
    assert row["agreement_without_ties"] == pytest.approx(0.75) and row["status"] == "recalibrate"
    # humans say a on 90% of the pairs and the judge always does: 90% agreement, but kappa 0 (no
    # better than the base rate), so the kappa floor asks for recalibration
    rows = [r for k in range(30) for r in judged_both_orders(f"i{k:02d}", dict.fromkeys(("h1", "h2"), "ab"[k < 3]), "a", "a")]
    row = pairwise_row(rows)
    assert row["agreement_with_ties"] == pytest.approx(0.9) and row["kappa"] == pytest.approx(0.0)
    assert row["status"] == "recalibrate"


def test_human_kappa_is_on_the_rubric_scale():
    # the audit (issue 13): two annotators who used only 1, 2 and 5, the pattern three times
    # over (27 items); the judge matches the consensus. On the points used, 2-vs-5 is one step
    # and the humans' kappa 0.59 made the dimension rubric_vague; on the rubric's 1-5 it is 0.90
    x = [1, 2, 2, 5, 5, 1, 1, 2, 2] * 3
    y = [1, 2, 2, 5, 5, 2, 2, 1, 1] * 3
    batch = [Item((f"i{k}", ""), 0, {"h1": a, "h2": b}, None) for k, (a, b) in enumerate(zip(x, y))]
    for item in batch:
        item.judge = item.consensus
    reference = cohen_kappa_score(x, y, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert round(reference, 2) == 0.90 and round(cohen_kappa_score(x, y, weights="quadratic"), 2) == 0.59
    for scale in ((1, 5), None):  # the rubric's, or the range of every score seen
        row = pointwise_row(batch, resamples=50, scale=scale)
        assert row["human_human_kappa"] == pytest.approx(reference, abs=1e-12) and row["status"] == "ok"
        assert row["human_pairs"] == 1 and row["human_pair_kappas"][0]["n_items"] == 27
    # the judge's kappa uses the same scale
    judge, consensus = [i.judge for i in batch], [i.consensus for i in batch]
    assert row["kappa_linear"] == pytest.approx(
        cohen_kappa_score(judge, consensus, weights="linear", labels=[1, 2, 3, 4, 5]), abs=1e-12)


def test_an_old_warehouse_gains_the_new_columns(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:  # judge_human_agreement as the first release created it
        con.execute("""create table judge_human_agreement (month date not null, judge_version varchar not null,
            kind varchar not null, dimension varchar not null, slice_dimension varchar, slice_value varchar,
            n_items integer not null, n_labels integer not null, annotators integer not null, exact_agreement double,
            within_one_agreement double, within_one_ci_low double, within_one_ci_high double, kappa double,
            kappa_linear double, kappa_quadratic double, kappa_quadratic_ci_low double, kappa_quadratic_ci_high double,
            alpha_humans double, alpha_with_judge double, human_human_kappa double, spearman double,
            spearman_ci_low double, spearman_ci_high double, agreement_with_ties double, agreement_without_ties double,
            position_consistency double, status varchar not null, computed_at timestamptz not null)""")
    month = dt.date(2026, 9, 1)
    votes = annotated_pairs(5, 25, ("h1", "h2", "h3"), lambda k: 3)
    row = pairwise_row([r for item, v in votes.items() for r in judged_both_orders(item, v, "a", "b")])
    base = {"month": month, "judge_version": "jv", "kind": "pairwise", "dimension": "preference",
            "slice_dimension": None, "slice_value": None}
    with connect(path) as con:
        store_agreement(con, month, [{**base, **row}])
        columns = [c[0] for c in con.execute("describe judge_human_agreement").fetchall()]
        pairs = con.execute("""select p.annotator_a, p.annotator_b, p.kappa from judge_human_agreement,
                               unnest(human_pair_kappas) as u(p) order by 1, 2""").fetchall()
        stored = con.execute("select fleiss_kappa, accuracy_order_ab, accuracy_order_ba, accuracy_mean_orders, "
                             "position_consistency from judge_human_agreement").fetchone()
    assert set(COLUMNS) <= set(columns)
    assert [(a, b) for a, b, _ in pairs] == [("h1", "h2"), ("h1", "h3"), ("h2", "h3")]
    assert [k for _, _, k in pairs] == pytest.approx([p["kappa"] for p in row["human_pair_kappas"]])
    assert stored == pytest.approx((row["fleiss_kappa"], row["accuracy_order_ab"], row["accuracy_order_ba"],
                                    row["accuracy_mean_orders"], 0.0))


def test_human_labels_validate_dedupe_and_reconcile(tmp_path):
    folder = tmp_path / "human_labels"
    folder.mkdir()
    (folder / "p.csv").write_text(
        "kind,item_id,variant,annotator_id,dimension,score,labeled_at\n"
        "pointwise,r1,control,ann_1,clarity,4,2026-06-01T10:00:00Z\n"
        "pointwise,r1,control,ann_1,clarity,2,2026-06-03T10:00:00Z\n"  # the same label, later: kept
        "pointwise,r1,control,ann_1,tone,3,2026-06-01T10:00:00Z\n"
        "pointwise,r1,control,ann_2,clarity,7,2026-06-01T10:00:00Z\n"
        "pointwise,r1,control,ann_2,clarity,3,yesterday\n")
    with (folder / "pairs.jsonl").open("w") as fh:
        fh.write(json.dumps({"kind": "pairwise", "item_id": "c1", "variant_a": "z", "variant_b": "m", "annotator_id": "ann_1",
                             "winner": "a", "labeled_at": "2026-06-02T10:00:00Z"}) + "\n")
        fh.write(json.dumps({"kind": "pairwise", "item_id": "c1", "variant_a": "m", "variant_b": "z", "annotator_id": "ann_2",
                             "winner": "draw", "labeled_at": "2026-06-02T10:00:00Z"}) + "\n")
        fh.write("[1, 2]\n")
    load = load_labels(folder, load_rubric())
    assert load.read == 8 and load.superseded == 1 and len(load.rows) == 2 and load.reconciles()
    kept = {r["kind"]: r for r in load.rows.to_dicts()}
    assert kept["pointwise"]["score"] == 2
    # the pair is stored in sorted order with the winner flipped: z won, z is variant_b
    assert (kept["pairwise"]["variant_a"], kept["pairwise"]["variant_b"], kept["pairwise"]["winner"]) == ("m", "z", "b")
    reasons = {(f, n): why for f, n, why in load.rejects}
    assert reasons[("human_labels/p.csv", 4)].startswith("unknown dimension 'tone'")
    assert reasons[("human_labels/p.csv", 5)] == "score must be an integer from 1 to 5, got '7'"
    assert reasons[("human_labels/p.csv", 6)] == "labeled_at: 'yesterday' is not an RFC 3339 timestamp"
    assert reasons[("human_labels/pairs.jsonl", 2)] == "winner must be a, b or tie, got 'draw'"
    assert reasons[("human_labels/pairs.jsonl", 3)] == "not a JSON object"


def test_a_binary_rubric_keeps_its_own_scale():
    rng = np.random.default_rng(9)
    out = []
    for k in range(30):
        truth = int(rng.random() < 0.5)
        out.append(Item((f"i{k}", ""), truth if rng.random() < 0.85 else 1 - truth, {"h1": truth, "h2": truth}, None))
    row = pointwise_row(out, resamples=100)
    judge, consensus = [i.judge for i in out], [i.consensus for i in out]
    assert row["kappa"] == pytest.approx(cohen_kappa_score(judge, consensus))
    assert row["kappa_quadratic"] == pytest.approx(cohen_kappa_score(judge, consensus, weights="quadratic"))
