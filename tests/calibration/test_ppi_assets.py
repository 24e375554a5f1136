"""ppi_estimates and label_queue on a warehouse these tests fill themselves (not the demo's): the
rows equal the pure estimators on the same arrays, labels drawn through the queue are weighted by
the probabilities they were drawn with, and the queue's file goes back in through human_labels."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, UTC

import numpy as np
import pytest

from pipeline import warehouse
from pipeline.calibration import ppi
from pipeline.calibration.human_labels import load_labels
from pipeline.calibration.prediction_powered import QueueSettings, build_queue, ppi_rows, store_estimates
from pipeline.judge.rubric import load_rubric

MONTH, NEXT = date(2026, 3, 1), date(2026, 4, 1)
VERSION = "judge0000001"
DIMS = ("correctness", "clarity")


def _fill(con, n_items: int, labelled: list[int], variants=("a",), seed: int = 1, bias: float = 0.8):
    """n_items logged requests in March (topics billing/coding), judged on two dimensions by a judge
    that scores `bias` too high; people label the items at the positions `labelled`. Returns the true
    human score per (item, variant, dimension)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(n_items):
        item = f"req_{i:05d}"
        day = MONTH + timedelta(days=i % 28)
        topic = "billing" if i % 4 == 0 else "coding"
        con.execute("insert into clean_logs (log_date, request_id, timestamp, user_id, messages, response, metadata, "
                    "cleaned_at) values ($d, $r, $t, 'u', [{'role': 'user', 'content': 'q ' || $r}], 'answer', "
                    "json_object('topic', $topic), now())",
                    {"d": day, "r": item, "t": datetime(day.year, day.month, day.day, 12, tzinfo=UTC), "topic": topic})
        for variant in variants:
            for dim in DIMS:
                human = int(rng.integers(1, 6))
                truth[(item, variant, dim)] = human
                judge = int(np.clip(round(human + bias + rng.normal(0, 0.6)), 1, 5))
                con.execute("insert into judge_scores (item_id, variant, source, judge_model, rubric_version, "
                            "judge_version, dimension, score, status, created_at) values "
                            "($i, $v, 'experiment_sample', 'm', 'rubric-v1', $jv, $d, $s, 'ok', now())",
                            {"i": item, "v": variant, "jv": VERSION, "d": dim, "s": judge})
    for i in labelled:
        item = f"req_{i:05d}"
        for variant in variants:
            _label(con, item, variant, truth)
    return truth


def _label(con, item: str, variant: str, truth: dict) -> None:
    for dim in DIMS:
        con.execute("insert into human_labels (kind, item_id, variant, annotator_id, dimension, score, labeled_at, "
                    "source_file, source_line, loaded_at) values ('pointwise', $i, $v, 'ann', $d, $s, "
                    "'2026-04-10T00:00:00Z', 'human_labels/x.csv', 2, now())",
                    {"i": item, "v": variant, "d": dim, "s": truth[(item, variant, dim)]})


def _arrays(con, variant: str, dim: str):
    rows = con.execute("select j.item_id, j.score, l.score from judge_scores j left join human_labels l "
                       "on l.item_id = j.item_id and l.variant = j.variant and l.dimension = j.dimension "
                       "where j.variant = $v and j.dimension = $d order by j.item_id", {"v": variant, "d": dim}).fetchall()
    y = np.array([h for _, _, h in rows if h is not None], float)
    yhat = np.array([s for _, s, h in rows if h is not None], float)
    unl = np.array([s for _, s, h in rows if h is None], float)
    return y, yhat, unl


@pytest.fixture
def con(tmp_path):
    with warehouse.connect(tmp_path / "warehouse.duckdb") as c:
        yield c


def test_uniform_labels_give_ppi_plus_plus_rows_equal_to_the_estimator(con):
    rng = np.random.default_rng(7)
    _fill(con, 400, sorted(rng.choice(400, 60, replace=False).tolist()))
    rows = ppi_rows(con, MONTH, NEXT)
    whole = {(r["variant"], r["dimension"]): r for r in rows if r["slice_value"] is None and r["compared_to"] is None}
    assert {m for m in (r["method"] for r in rows)} == {"ppi++"}
    for dim in DIMS:
        y, yhat, unl = _arrays(con, "a", dim)
        ref = ppi.ppi_mean(y, yhat, unl)
        got = whole[("a", dim)]
        assert got["n_labeled"] == 60 and got["n_unlabeled"] == 340
        assert got["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high), abs=1e-12)
        assert got["power_lambda"] == pytest.approx(ref.lam, abs=1e-12)
        assert got["classical_estimate"] == pytest.approx(y.mean(), abs=1e-12)
        # the planted bias shows in the judge-only mean and not in the estimate
        assert got["judge_estimate"] - got["estimate"] > 0.4
        assert got["labels_saved"] == pytest.approx(got["effective_labels"] - 60)
    # one variant only: no '*' rows; topic slices only where 10+ items are labelled
    assert ("*", DIMS[0]) not in whole
    for r in rows:
        if r["slice_dimension"] == "topic":
            assert r["n_labeled"] >= 10
    store_estimates(con, MONTH, rows)
    assert con.execute("select count(*) from ppi_estimates where month = $m", {"m": MONTH}).fetchone()[0] == len(rows)
    store_estimates(con, MONTH, rows)  # a rerun replaces the month
    assert con.execute("select count(*) from ppi_estimates").fetchone()[0] == len(rows)


def test_too_few_labels_an_empty_month_and_failed_judgments_give_no_row(con):
    _fill(con, 50, list(range(9)))
    con.execute("insert into judge_scores (item_id, variant, source, judge_model, rubric_version, judge_version, "
                "dimension, score, status, error, created_at) values ('req_00001', 'a', 'experiment_sample', 'm', "
                "'rubric-v1', 'garbage-judge', 'correctness', null, 'parse_failed', 'no JSON', now())")
    assert ppi_rows(con, MONTH, NEXT) == []
    assert ppi_rows(con, date(2026, 5, 1), date(2026, 6, 1)) == []
    store_estimates(con, date(2026, 5, 1), [])


def test_paired_differences_on_items_both_variants_answered(con):
    rng = np.random.default_rng(3)
    _fill(con, 300, sorted(rng.choice(300, 40, replace=False).tolist()), variants=("a", "b"))
    rows = ppi_rows(con, MONTH, NEXT)
    paired = [r for r in rows if r["compared_to"] == "b" and r["slice_value"] is None and r["dimension"] == "clarity"]
    assert len(paired) == 1 and paired[0]["variant"] == "a"
    ya, yhata, unla = _arrays(con, "a", "clarity")
    yb, yhatb, unlb = _arrays(con, "b", "clarity")
    ref = ppi.ppi_mean(ya - yb, yhata - yhatb, unla - unlb)
    assert paired[0]["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert paired[0]["n_labeled"] == 40 and paired[0]["n_unlabeled"] == 260
    # both variants together: every answer a unit
    together = [r for r in rows if r["variant"] == "*" and r["slice_value"] is None and r["dimension"] == "clarity"]
    assert together[0]["n_labeled"] == 80 and together[0]["n_unlabeled"] == 520


def test_the_queue_draws_by_expected_error_keeps_its_draw_and_its_labels_are_weighted(con, tmp_path):
    truth = _fill(con, 600, list(range(0, 600, 20)))  # 30 items labelled before the queue, uniformly
    # what the calibration loop learned: the judge is poor on clarity for billing
    for dim, topic, exact in (("correctness", None, 0.8), ("clarity", None, 0.7), ("clarity", "billing", 0.1)):
        con.execute("insert into judge_human_agreement (month, judge_version, kind, dimension, slice_dimension, "
                    "slice_value, n_items, n_labels, annotators, exact_agreement, status, computed_at) values "
                    "($m, $v, 'pointwise', $d, $sd, $t, 30, 60, 2, $e, 'ok', now())",
                    {"m": date(2026, 2, 1), "v": VERSION, "d": dim, "sd": "topic" if topic else None, "t": topic, "e": exact})
    out = tmp_path / "queue"
    queue = build_queue(con, MONTH, NEXT, QueueSettings(budget=120, floor=0.2, threshold=3.0, near=0.5), out)
    assert queue.pool == 570 and queue.judge_version == VERSION and not queue.kept
    rows = con.execute("select item_id, inclusion_probability, selected, reasons, error_score from label_queue").fetchall()
    pi = np.array([r[1] for r in rows])
    assert pi.sum() == pytest.approx(120, abs=1e-9)
    assert pi.min() >= 0.2 * 120 / 570 - 1e-12 and pi.max() <= 1
    topics = dict(con.execute("select request_id, metadata ->> 'topic' from clean_logs").fetchall())
    billing = np.mean([p for (i, p, *_) in rows if topics[i] == "billing"])
    coding = np.mean([p for (i, p, *_) in rows if topics[i] == "coding"])
    assert billing > 1.3 * coding
    assert any("low_agreement:clarity" in r[3] for r in rows if topics[r[0]] == "billing")
    selected = [r[0] for r in rows if r[2]]
    assert abs(len(selected) - 120) < 4 * np.sqrt(120)
    # the file: contract columns with empty scores; filled in, it loads through human_labels
    with (out / "label-queue-2026-03.csv").open() as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == len(selected) * len(DIMS)
    # before any label is back, a redraw is allowed (and then drawn again the same way: the seed)
    redrawn = build_queue(con, MONTH, NEXT, QueueSettings(budget=120), out, redraw=True)
    assert not redrawn.kept and redrawn.selected == len(selected)
    assert {r["score"] for r in records} == {""} and {r["item_id"] for r in records} == set(selected)
    folder = tmp_path / "src" / "human_labels"
    folder.mkdir(parents=True)
    for r in records:
        r.update(score=str(truth[(r["item_id"], r["variant"], r["dimension"])]), annotator_id="ann_9",
                 labeled_at="2026-04-20T10:00:00Z")
    with (folder / "from-queue.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    load = load_labels(tmp_path / "src", load_rubric(None))
    assert load.rejects == [] and len(load.rows) == len(records)
    # a second build keeps the draw (the probabilities the labels come back with) and leaves the
    # file someone may be filling in as it is
    with (out / "label-queue-2026-03.csv").open("a") as fh:
        fh.write("# half done\n")
    again = build_queue(con, MONTH, NEXT, QueueSettings(budget=50), out)
    assert again.kept and again.selected == len(selected)
    assert (out / "label-queue-2026-03.csv").read_text().endswith("# half done\n")
    # the labels come back: the active estimator over the queue's pool, the earlier ones with PPI++
    for item in selected:
        _label(con, item, "a", truth)
    estimates = ppi_rows(con, MONTH, NEXT)
    whole = {(r["method"], r["dimension"]): r for r in estimates if r["slice_value"] is None and r["compared_to"] is None}
    active = whole[("active", "clarity")]
    pool = con.execute("select q.inclusion_probability, q.selected, j.score, l.score from label_queue q "
                       "join judge_scores j on j.item_id = q.item_id and j.dimension = 'clarity' "
                       "left join human_labels l on l.item_id = q.item_id and l.dimension = 'clarity' "
                       "order by q.item_id").fetchall()
    mask = np.array([s and h is not None for _, s, _, h in pool])
    ref = ppi.active_mean(np.array([h for _, s, _, h in pool if s and h is not None], float),
                          np.array([j for _, _, j, _ in pool], float), mask, np.array([p for p, *_ in pool]))
    assert active["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert active["n_labeled"] == len(selected) and active["queue_unlabelled"] == 0
    # PPI++: the 30 uniform labels; every other item, queued or not, counts as unlabelled (the
    # queue's labels are no uniform sample, and leaving its items out would skew the rest)
    uniform = whole[("ppi++", "clarity")]
    assert uniform["n_labeled"] == 30 and uniform["n_unlabeled"] == 570
    y, f, _ = _arrays(con, "a", "clarity")
    labelled_before = {f"req_{i:05d}" for i in range(0, 600, 20)}
    rows = con.execute("select j.item_id, j.score, l.score from judge_scores j left join human_labels l "
                       "on l.item_id = j.item_id and l.dimension = j.dimension where j.dimension = 'clarity' "
                       "order by j.item_id").fetchall()
    ref = ppi.ppi_mean(np.array([h for i, _, h in rows if i in labelled_before], float),
                       np.array([s for i, s, _ in rows if i in labelled_before], float),
                       np.array([s for i, s, _ in rows if i not in labelled_before], float))
    assert uniform["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    # another judge version that scored only the labelled items has no pool to weight over: no active rows
    for item in selected:
        con.execute("insert into judge_scores (item_id, variant, source, judge_model, rubric_version, judge_version, "
                    "dimension, score, status, created_at) values ($i, 'a', 'human_labelled', 'm2', 'r', 'other', "
                    "'clarity', 3, 'ok', now())", {"i": item})
    assert not [r for r in ppi_rows(con, MONTH, NEXT) if r["judge_version"] == "other" and r["method"] == "active"]
    # drawing again would orphan the labels that came back: refused
    with pytest.raises(ValueError, match="have labels already"):
        build_queue(con, MONTH, NEXT, QueueSettings(budget=50), out, redraw=True)


def test_a_month_without_judged_logged_requests_has_an_empty_queue(con, tmp_path):
    queue = build_queue(con, MONTH, NEXT, QueueSettings(), tmp_path / "q")
    assert (queue.pool, queue.selected, queue.judge_version, queue.files) == (0, 0, None, [])


def test_queue_settings_that_cannot_work_are_named_and_budget_zero_is_no_queue(con, tmp_path):
    _fill(con, 100, [])
    for settings, name in ((QueueSettings(budget=-5), "budget"), (QueueSettings(budget=float("nan")), "budget"),
                           (QueueSettings(floor=1.5), "floor"), (QueueSettings(near=-1), "near")):
        with pytest.raises(ValueError, match=name):
            build_queue(con, MONTH, NEXT, settings, tmp_path / "q")
    off = build_queue(con, MONTH, NEXT, QueueSettings(budget=0), tmp_path / "q")
    assert (off.pool, off.selected, off.files) == (0, 0, [])
    assert con.execute("select count(*) from label_queue").fetchone()[0] == 0


def test_an_eval_set_version_gets_its_own_estimates_in_its_quarters_first_month(con):
    rng = np.random.default_rng(11)
    quarter = date(2026, 4, 1)
    y_all, f_all, labelled = [], [], set(rng.choice(300, 40, replace=False).tolist())
    for i in range(300):
        item = f"eval_{i:04d}"
        kind = "head" if i % 3 else "known_failure"
        con.execute("insert into eval_set (quarter, version_id, item_id, kind, stratum, reason, messages, query, response, "
                    "built_at) values ($q, 'v-2026q2', $i, $k, 'coding', 'production mix', "
                    "[{'role': 'user', 'content': 'q'}], 'q', 'a', now())", {"q": quarter, "i": item, "k": kind})
        human = int(rng.integers(1, 6))
        judge = int(np.clip(human + 1, 1, 5))  # a lenient judge
        con.execute("insert into judge_scores (item_id, variant, source, judge_model, rubric_version, judge_version, "
                    "dimension, score, status, created_at) values ($i, null, 'eval_set', 'm', 'r', $v, 'correctness', "
                    "$s, 'ok', now())", {"i": item, "v": VERSION, "s": judge})
        if i in labelled:
            con.execute("insert into human_labels (kind, item_id, variant, annotator_id, dimension, score, labeled_at, "
                        "source_file, source_line, loaded_at) values ('pointwise', $i, null, 'ann', 'correctness', $s, "
                        "'2026-05-02T00:00:00Z', 'f', 2, now())", {"i": item, "s": human})
            y_all.append(human)
            f_all.append(judge)
    rows = ppi_rows(con, quarter, date(2026, 5, 1))
    version_rows = [r for r in rows if r["scope"] == "eval_set_version"]
    whole = [r for r in version_rows if r["slice_value"] is None]
    assert len(whole) == 1 and whole[0]["eval_set_version"] == "v-2026q2" and whole[0]["variant"] == ""
    unlabelled = [f for f in con.execute("select j.score from judge_scores j anti join human_labels l using (item_id) "
                                         "where j.source = 'eval_set' order by j.item_id").fetchall()]
    ref = ppi.ppi_mean(np.array(y_all, float), np.array(f_all, float), np.array([u for (u,) in unlabelled], float))
    assert whole[0]["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert {r["slice_value"] for r in version_rows if r["slice_dimension"] == "kind"} <= {"head", "known_failure"}
    # no logged request that month: no month-scope rows; the next month is no quarter's first
    assert all(r["scope"] == "eval_set_version" for r in rows)
    assert ppi_rows(con, date(2026, 5, 1), date(2026, 6, 1)) == []
