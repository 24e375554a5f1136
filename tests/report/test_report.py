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
