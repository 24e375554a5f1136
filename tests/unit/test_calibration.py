"""judge_human_agreement rows from hand-made labels: consensus, status rules, pairwise
majorities and position consistency, and de-duplicated, validated human labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from pipeline.calibration import Item, pairwise_row, pointwise_row, status
from pipeline.human_labels import load_labels
from pipeline.rubric import load_rubric


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
