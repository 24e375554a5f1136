"""Regression checks: each kind of programmatic check, the judge fallback, regressions vs baseline."""

from __future__ import annotations

import pytest

from pipeline.judge.client import LLMSettings
from pipeline.judge.regression_eval import RegressionRun, check_response, evaluate
from pipeline.judge.rubric import load_rubric
from pipeline.warehouse import connect

SCHEMA = {"type": "object", "required": ["days"], "properties": {"days": {"type": "integer"}}}


@pytest.mark.parametrize("response, kwargs, passed, failure", [
    ("use [::-1]", {"must_contain": ["[::-1]"]}, True, None),
    ("use reverse()", {"must_contain": ["[::-1]"]}, False, "missing '[::-1]'"),
    ("sort(reverse=True)", {"must_not_contain": ["sort(reverse"]}, False, "contains 'sort(reverse'"),
    ("card 4111 1111 1111 1111", {"regex": r"^(?![\s\S]*4111 1111 1111 1111)"}, False, "does not match"),
    ('{"days": 30}', {"json_schema": SCHEMA}, True, None),
    ('{"days": "30"}', {"json_schema": SCHEMA}, False, "JSON schema: '30' is not of type 'integer'"),
    ("thirty days", {"json_schema": SCHEMA}, False, "not valid JSON"),
])
def test_programmatic_checks(response, kwargs, passed, failure):
    args = {"must_contain": None, "must_not_contain": None, "regex": None, "json_schema": None, **kwargs}
    ok, failures = check_response(response, **args)
    assert ok is passed
    assert (failure is None and not failures) or any(failure in f for f in failures)


def test_a_case_without_checks_is_none():
    assert check_response("anything", [], [], None, None) == (None, [])


def test_regressions_are_failures_the_baseline_passes():
    run = RegressionRun("base", [("base", "c1", "h", True, "checks", None), ("base", "c2", "h", False, "checks", "x"),
                                 ("new", "c1", "h", False, "checks", "x"), ("new", "c2", "h", False, "checks", "x")])
    assert run.regressions() == {"new": ["c1"]} and run.pass_rates() == {"base": (1, 2), "new": (0, 2)}


def test_cases_with_only_an_expected_behaviour_go_to_the_judge(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("""insert into regression_set values
            ('c1', 'h1', [{'role': 'user', 'content': 'How do I reverse a list in Python?'}], 'How do I reverse a list?',
             'Gives the correct answer: use `[::-1]`', [], [], null, null, null, null, null, now())""")
        con.executemany("insert into candidate_responses values ('c1', ?, [{'role': 'user', 'content': 'q'}], ?, "
                        "null, null, null, null, 'imported', now())",
                        [("base", "Use slicing, `[::-1]`, for a reversed copy."), ("new", "Definitely: use `sort(reverse=True)`.")])
        run = evaluate(con, LLMSettings(model="evalfunnel/heuristic"), load_rubric(), "base", tmp_path / "j.jsonl")
        stored = con.execute("select variant, passed, method, judge_version is not null from regression_results "
                             "order by variant").fetchall()
    assert stored == [("base", True, "judge", True), ("new", False, "judge", True)]
    assert run.regressions() == {"new": ["c1"]}
