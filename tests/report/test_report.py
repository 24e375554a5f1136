"""The report page on edge cases: an empty warehouse, and user text that must stay text."""

from __future__ import annotations

from pipeline.report.html import SECTIONS, build_report
from pipeline.warehouse import connect


def test_an_empty_warehouse_gives_every_section_with_what_to_run(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        page = build_report(con, "jv")
    assert page.charts == 0 and page.sections == tuple(sid for sid, _ in SECTIONS)
    for sid, title in SECTIONS:
        assert f'<section id="{sid}"><h2>{title}</h2>' in page.html
    assert "run monthly_judge_validation" in page.html and "(rate_candidates)" in page.html


def test_logged_text_is_escaped_not_executed(tmp_path):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("insert into clean_logs (log_date, request_id, timestamp, user_id, messages, response, cleaned_at) "
                    "values ('2026-09-01', 'r1', '2026-09-01 10:00:00+00', 'u', [{'role': 'user', 'content': $h}], $h, now())",
                    {"h": hostile})
        for annotator, score in (("a1", 5), ("a2", 5)):
            con.execute("insert into human_labels values ('pointwise', 'r1', null, null, null, ?, 'clarity', ?, null, "
                        "'2026-09-02 10:00:00+00', 'f', 1, now())", [annotator, score])
        con.execute("insert into judge_scores values ('r1', null, 'human_labelled', 'm', 'rubric-v1', 'jv', 'clarity', 1, "
                    "$h, 'ok', null, null, null, null, now())", {"h": hostile})
        page = build_report(con, "jv").html
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # query, response and rationale, as text
    assert "clarity 1 vs 5.0" in page


def test_this_week_comes_first_escapes_names_and_says_why(tmp_path):
    """The summary is built from the warehouse with autoescaping: an experiment id or reason that
    holds markup is shown as text; judges are named by model and rubric, the hash in a tooltip."""
    hostile = "<b onmouseover=alert(1)>x</b>"
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("insert into experiment_summary values ($e, '2026-01-01', '2026-01-31', 10, '{}', 0.5, false, 0, "
                    "'do not ship', null, $r, now())", {"e": hostile, "r": "guardrail latency_ms " + hostile})
        con.execute("insert into judge_scores values ('i1', null, 'eval_set', 'openai/gpt-4o-2024-08-06', 'rubric-v1', "
                    "'abc123def456', 'clarity', 4, 'fine', 'ok', null, null, null, null, now())")
        page = build_report(con, "abc123def456").html
    assert page.index('id="this-week"') < page.index('id="eval-set"') < page.index('id="outputs"')
    week = page[page.index('id="this-week"'):page.index('id="eval-set"')]
    assert "<b onmouseover" not in page and "&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt;" in week
    assert "do not ship" in week and 'href="#experiments"' in week
    assert '<span title="judge version abc123def456">gpt-4o-2024-08-06 · rubric v1</span>' in page


def test_an_empty_warehouse_says_what_to_run_this_week(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        page = build_report(con, "jv").html
    week = page[page.index('id="this-week"'):page.index('id="eval-set"')]
    assert "Nothing yet: run the pipeline" in week


def test_this_week_survives_a_candidate_the_gate_cannot_judge_and_reads_mismatches_of_its_judge(tmp_path):
    """A candidate without regression results or ratings (no regression set; a budget that ran out
    before pairwise) is 'not decided' with the gate's reason: the report is still written (it
    failed the whole run). Mismatch lines are the report's judge's only, named with ':' intact."""
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("insert into candidate_responses (item_id, variant, messages, response, origin, loaded_at) values "
                    "('i1', 'baseline', [], 'a', 'imported', now()), ('i1', 'v:2', [], 'b', 'imported', now())")
        for version, finding in (("jv", "exp-1/v:2: judge +0.50 points, users worse by 10.0% on latency_ms"),
                                 ("other", "exp-1/old: judge +0.10 points, users worse by 5.0% on latency_ms")):
            con.execute("insert into offline_online_correlation (quarter, judge_version, kind, dimension, metric, n, "
                        "status, mismatches, computed_at) values ('2026-07-01', ?, 'experiment', 'clarity', 'latency_ms', "
                        "3, 'weak', [?], now())", [version, finding])
        page = build_report(con, "jv").html
    week = page[page.index('id="this-week"'):page.index('id="eval-set"')]
    assert "release gate: v:2" in week and "not decided" in week
    assert "offline vs online: exp-1/v:2" in week and "exp-1/old" not in week
