"""The full-size demo, end to end, recovers what the generator planted (pipeline/demo/world.py).

One `evalfunnel demo` run (six months, 50,000 interactions) is shared by the session
(tests/e2e/conftest.py: demo_home, also compared table by table with the recorded checksums);
every assertion is about a planted truth, not about a figure the pipeline happened to print.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.warehouse import connect

pytestmark = pytest.mark.e2e


def query(home: Path, sql: str) -> list[tuple]:
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        return con.execute(sql).fetchall()


def by_kind(home: Path) -> dict[str, tuple]:
    rows = query(home, "select experiment_id, decision, srm_p_value, users_per_variant, reason from experiment_summary")
    return {eid.rsplit("-", 2)[0]: (decision, srm_p, json.loads(per), reason) for eid, decision, srm_p, per, reason in rows}


def test_experiment_decisions_match_the_planted_effects(demo_home):
    summary = by_kind(demo_home)
    assert set(summary) == {"model-upgrade", "detailed-prompt", "temperature", "citations", "followups"}
    # the large model is slower by 1.9x: the 500 ms latency guardrail blocks it
    assert summary["model-upgrade"][0] == "do not ship"
    harm = query(demo_home, """
        select ni_passed, diff_ci_low from experiment_results
        where experiment_id like 'model-upgrade-%' and metric = 'latency_ms' and analysis in ('overall', 'sequential')""")
    assert harm == [(False, pytest.approx(harm[0][1]))] and harm[0][1] > 500
    # users dislike the longer answers: thumbs-down significantly worse
    assert summary["detailed-prompt"][0] == "do not ship"
    # the client bug loses 60% of android treatment assignments: SRM, no decision
    decision, srm_p, per_variant, reason = summary["followups"]
    assert decision == "invalid" and srm_p < 0.001 and per_variant["on"] < per_variant["off"]
    assert "sample ratio mismatch" in reason
    flagged = query(demo_home, "select bool_and(srm_invalid), count(*) from experiment_results "
                               "where experiment_id like 'followups-%'")
    assert flagged[0][0] is True and flagged[0][1] > 0
    # the experiments without a planted assignment bug pass the SRM check
    for kind in ("model-upgrade", "detailed-prompt", "temperature", "citations"):
        assert summary[kind][1] > 0.001, kind


def test_detailed_prompt_hurts_mobile_users_more(demo_home):
    # mobile users weigh length twice as much (world.react): the thumbs-down increase is larger
    # on ios and android together than on web
    rows = {seg: (n, diff) for seg, n, diff in query(demo_home, """
        select segment_value, n_control + n_treatment, diff from experiment_results
        where experiment_id like 'detailed-prompt-%' and metric = 'thumbs_down_rate' and analysis = 'segment'
          and segment_dimension = 'device'""")}
    assert set(rows) == {"web", "ios", "android"}
    mobile = sum(n * d for n, d in (rows["ios"], rows["android"])) / (rows["ios"][0] + rows["android"][0])
    assert mobile > rows["web"][1] > 0


def test_cuped_applies_to_ratio_metrics_and_narrows_intervals(demo_home):
    rows = query(demo_home, """
        select c.metric, c.variance_reduction, c.diff_ci_high - c.diff_ci_low, o.diff_ci_high - o.diff_ci_low
        from experiment_results c
        join experiment_results o using (experiment_id, metric, variant)
        where c.analysis = 'cuped' and o.analysis in ('overall', 'sequential') and o.segment_dimension is null""")
    metrics = {m for m, *_ in rows}
    assert "thumbs_down_rate" in metrics  # a ratio metric (thumbs-down per request)
    assert all(0 <= vr < 1 for _, vr, _, _ in rows)
    # a user's resolutions persist from the pre-period: a large reduction and a narrower interval
    resolution = [(vr, cuped, plain) for m, vr, cuped, plain in rows if m == "resolution_rate"]
    assert resolution and all(vr > 0.3 and cuped < plain for vr, cuped, plain in resolution)


def test_the_judge_shift_month_is_flagged_by_drift_and_by_agreement(demo_home):
    truth = json.loads((demo_home / "demo-source" / "gold" / "truth.json").read_text())
    shift_month = truth["judge_shift_month"]
    drifted = query(demo_home, """
        select distinct strftime(month, '%Y-%m'), dimension from judge_drift
        where drifted and judge_version like 'imported:%' and method = 'residual'""")
    # the imported judge became harsher on three dimensions in that month, and only then
    assert {m for m, _ in drifted} == {shift_month}
    assert {d for _, d in drifted} == {"correctness", "clarity", "calibration"}
    recalibrate = query(demo_home, """
        select distinct strftime(month, '%Y-%m') from judge_human_agreement
        where judge_version like 'imported:%' and status = 'recalibrate' and slice_dimension is null""")
    assert recalibrate == [(shift_month,)]
    # the deterministic local judge never moves on its re-scored anchor set
    assert query(demo_home, "select count(*), bool_or(drifted) from judge_drift where method = 'rescored'")[0] == (30, False)


def test_the_vague_rubric_dimension_is_found_every_month(demo_home):
    # annotators disagree on calibration by construction (noise 1.1 against 0.35-0.4 elsewhere)
    rows = query(demo_home, """
        select dimension, count(*) filter (where status = 'rubric_vague'), count(*) from judge_human_agreement
        where kind = 'pointwise' and slice_dimension is null and judge_version like 'imported:%' group by dimension""")
    by_dim = {d: (vague, n) for d, vague, n in rows}
    assert by_dim["calibration"] == (6, 6)
    assert all(vague <= 1 for d, (vague, _) in by_dim.items() if d != "calibration")


def test_the_longer_answer_variant_the_judge_prefers_is_a_listed_mismatch(demo_home):
    # detailed-prompt: the judge scores its answers clearer; users give more thumbs-down
    rows = query(demo_home, """
        select dimension, mismatches from offline_online_correlation
        where kind = 'experiment' and metric = 'thumbs_down_rate'
          and quarter = (select max(quarter) from offline_online_correlation)""")
    listed = {d for d, mismatches in rows if any(m.startswith("detailed-prompt-") for m in mismatches)}
    assert "clarity" in listed
    clarity = query(demo_home, """
        select judge_delta, judge_ci_low, online_better, online_significant from offline_online
        where experiment_id like 'detailed-prompt-%' and dimension = 'clarity' and metric = 'thumbs_down_rate'""")
    (delta, low, better, significant), = clarity
    assert delta > 0.5 and low > 0 and better < 0 and significant
    pairs = query(demo_home, """select max(n) from offline_online_correlation where kind = 'experiment'
                                and metric = 'thumbs_down_rate'""")[0][0]
    assert pairs == len(query(demo_home, """select distinct experiment_id, variant from offline_online
                                             where metric = 'thumbs_down_rate' and not srm_invalid"""))


def test_forecasts_for_candidates_with_offline_scores_only(demo_home):
    rows = query(demo_home, """
        select candidate, predicted_online_better, prediction_low, prediction_high, required_n_per_arm, n_items
        from calibration_forecast where metric = 'thumbs_down_rate'""")
    assert {r[0] for r in rows} == {"concise-v2", "detailed-v3", "large-model"}
    for _, point, low, high, n, items in rows:
        assert low < point < high and items >= 60
        assert n is None or n > 0


def test_the_gate_catches_every_demo_candidates_planted_regression(demo_home, tmp_path):
    from tests.e2e.test_cli import evalfunnel

    def failing(candidate):
        result = evalfunnel("gate", "--candidate", candidate, "--baseline", "baseline", "--json", "--home", str(demo_home),
                            cwd=tmp_path)
        assert result.returncode == 1, result.stderr[-1000:]
        return {(c["check"], c["subject"], c["dimension"]) for c in json.loads(result.stdout)["checks"] if not c["passed"]}

    # generator.regression_answer: concise-v2 breaks the JSON contract and every fourth known failure;
    # detailed-v3 leaks its system prompt (and pads: the length score drops); large-model echoes a card number
    concise = failing("concise-v2")
    assert ("regression", "reg-json-001", None) in concise and sum(c == "regression" for c, _, _ in concise) == 7
    detailed = failing("detailed-v3")
    assert ("regression", "reg-refuse-001", None) in detailed and ("slice", "topic=coding", "length") in detailed
    assert ("regression", "reg-pii-001", None) in failing("large-model")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_report_renders_in_headless_chromium_offline(demo_home):
    from playwright.sync_api import sync_playwright

    from pipeline.report.html import SECTIONS

    page_path = demo_home / "report" / "index.html"
    assert page_path.exists()  # the demo's last stage writes it
    text = page_path.read_text()
    # self-contained: no scripts, stylesheets, fonts or images fetched from anywhere
    assert "<script" not in text and "<link" not in text and "@font-face" not in text and "src=\"http" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        sections = {sid: page.locator(f"section#{sid}") for sid, _ in SECTIONS}
        present = {sid: loc.count() == 1 for sid, loc in sections.items()}
        charts = {sid: loc.locator("svg").count() for sid, loc in sections.items()}
        # a drawn chart has many path elements (axes, ticks, text rendered as paths, the data)
        paths = page.evaluate("Array.from(document.querySelectorAll('svg')).map(s => s.querySelectorAll('path').length)")
        sizes = page.evaluate("Array.from(document.querySelectorAll('svg')).map(s => s.getBoundingClientRect().height)")
        outputs = sections["outputs"].locator("article").count()
        # the summary comes first, and every in-page link (its lines, the nav) lands on an element
        week_lines = sections["this-week"].locator("li").count()
        first_section = page.evaluate("document.querySelector('section').id")
        dangling = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                                 ".map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))")
        links = page.locator("section#this-week a[href^='#']").count()
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests
    assert all(present.values()), present
    for sid in ("calibration", "offline-online", "experiments", "ratings", "eval-set"):
        assert charts[sid] >= 1, (sid, charts)
    assert all(n > 50 for n in paths) and all(h > 100 for h in sizes)
    assert 15 <= outputs <= 25  # about 20 outputs to read
    assert first_section == "this-week" and week_lines >= 10 and links == week_lines and dangling == []
    assert (ARTIFACTS / "report.png").stat().st_size > 100_000


def test_this_week_names_the_planted_truths(demo_home):
    """The report's summary says, in words, what the demo plants: the model upgrade is not shipped
    because of latency, followups is invalid (sample ratio mismatch), the imported judge drifted in
    its drift month, and each line points at its evidence."""
    import re

    text = (demo_home / "report" / "index.html").read_text()
    week = text[text.index('<section id="this-week">'):text.index("</section>", text.index('<section id="this-week">'))]
    lines = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip() for li in re.findall(r"<li.*?</li>", week, re.S)]
    line = {ln.split(" ", 1)[0].rsplit("-", 2)[0]: ln for ln in lines}  # experiment ids end with their month
    assert "do not ship" in line["model-upgrade"] and "latency_ms" in line["model-upgrade"]
    assert "invalid" in line["followups"] and "sample ratio mismatch" in line["followups"]
    shift_month = json.loads((demo_home / "demo-source" / "gold" / "truth.json").read_text())["judge_shift_month"][:7]
    assert any("gpt-4o-2024-08-06 · rubric v1" in ln and f"drifted in {shift_month}" in ln
               or f"since {shift_month}" in ln for ln in lines), lines
    assert any(ln.startswith("release gate: ") for ln in lines) and any(ln.startswith("forecast: ") for ln in lines)
    assert any(ln.startswith("eval set ") for ln in lines)


def test_backfilling_all_months_gives_one_history_row_per_month_from_the_cache(demo_home, tmp_path):
    from tests.e2e.test_cli import evalfunnel

    counts = ("select (select count(*) from judge_cache), (select count(*) from judge_human_agreement), "
              "(select count(*) from judge_drift), (select count(*) from calibration_history where period = 'month')")
    before = query(demo_home, counts)[0]
    result = evalfunnel("backfill", "monthly_judge_validation", "--from", "2026-05-01", "--to", "2026-10-31",
                        "--home", str(demo_home), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "backfilling monthly_judge_validation for 2026-05-01..2026-10-01 in one run" in result.stdout
    after = query(demo_home, counts)[0]
    assert after == before  # no duplicates, and no new judge call: every judgment came from the cache
    per_month = query(demo_home, """select judge_version, count(*), count(distinct period_start) from calibration_history
                                    where period = 'month' group by judge_version""")
    assert len(per_month) == 2 and all(n == distinct == 6 for _, n, distinct in per_month)


def test_prediction_powered_estimates_correct_the_planted_judge_bias(demo_home):
    """The demo's imported judge is verbosity-biased and, in the shift month, harsher by 1.2 points on
    three dimensions; its scores cover ~840 logged responses a month, people label 40. The truth is
    the month's expected human score over the whole pool (gold/truth.json, computed by the
    generator from the planted qualities and annotator noise)."""
    truth = json.loads((demo_home / "demo-source" / "gold" / "truth.json").read_text())
    means, shift = truth["human_means"], truth["judge_shift_month"]
    rows = query(demo_home, """
        select strftime(month, '%Y-%m'), dimension, n_labeled, n_unlabeled, judge_estimate, judge_ci_low, judge_ci_high,
               estimate, ci_low, ci_high, classical_ci_low, classical_ci_high
        from ppi_estimates
        where judge_version like 'imported:%' and method = 'ppi++' and variant = '*' and compared_to is null
            and slice_dimension is null""")
    assert len(rows) == 6 * 5  # every month, every dimension
    covered = 0
    for month, dim, n, big_n, judge, jlo, jhi, est, lo, hi, clo, chi in rows:
        assert n == 40 and big_n > 600
        covered += lo <= means[month]["*"][dim] <= hi
        assert hi - lo <= chi - clo + 1e-9  # never wider than the humans-only interval
        if month == shift and dim in ("correctness", "clarity", "calibration"):
            # the judge alone is a point off and sure of it; the prediction-powered interval is not fooled
            assert abs(judge - means[month]["*"][dim]) > 0.8 and not jlo <= means[month]["*"][dim] <= jhi
            assert lo <= means[month]["*"][dim] <= hi
    # 95% intervals; the 30 share six samples of 40 labelled items, so misses come together: 80% is
    # the floor a correct estimator clears on this fixed data (it covers 28 of 30; humans only: 30)
    assert covered >= 24
    widths = query(demo_home, """
        select avg(ci_high - ci_low) / avg(classical_ci_high - classical_ci_low), avg(labels_saved)
        from ppi_estimates where judge_version like 'imported:%' and variant = '*' and slice_dimension is null""")[0]
    assert widths[0] < 0.8 and widths[1] > 20
    # the label queue: a file per month a labelling tool imports, probabilities summing to the budget
    queue = query(demo_home, "select month, sum(inclusion_probability), count(*) filter (where selected) "
                             "from label_queue group by 1 order by 1")
    assert len(queue) == 6 and all(abs(total - 100) < 1e-6 and 60 < n < 140 for _, total, n in queue)
    assert len(list((demo_home / "label_queue").glob("label-queue-*.csv"))) == 6
