"""regression_set.jsonl: validation with line and reason, content-hash versions."""

from __future__ import annotations

import json

from pipeline.evalsets.regression import case_changes, load_cases


def test_cases_load_bad_lines_are_rejected_with_reasons(tmp_path):
    path = tmp_path / "regression_set.jsonl"
    good = {"case_id": "c1", "query": "hi", "expected_behavior": "greets", "must_contain": ["hello"]}
    path.write_text("\n".join([
        json.dumps(good),
        "{not json",
        json.dumps({"case_id": "c2", "expected_behavior": "x"}),
        json.dumps({"case_id": "c3", "query": "q", "expected_behavior": "x", "regex": "(unclosed"}),
        json.dumps({"case_id": "c1", "query": "again", "expected_behavior": "x"}),
        json.dumps({"case_id": "c4", "messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}],
                    "expected_behavior": "x"}),
    ]))
    loaded = load_cases(path)
    assert [c.case_id for c in loaded.cases] == ["c1"] and loaded.cases[0].query == "hi"
    assert [line for line, _ in loaded.rejects] == [2, 3, 4, 5, 6]
    reasons = dict(loaded.rejects)
    assert reasons[2] == "not valid JSON" and reasons[3] == "messages/query: one of them is required"
    assert reasons[4].startswith("regex: does not compile") and "repeats an earlier line" in reasons[5]
    assert "known role" in reasons[6]


def test_a_changed_case_is_a_new_version(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"case_id": "c1", "query": "hi", "expected_behavior": "greets"}) + "\n"
                    + json.dumps({"case_id": "c2", "query": "bye", "expected_behavior": "waves"}) + "\n")
    first = load_cases(path).cases
    path.write_text(json.dumps({"case_id": "c1", "query": "hi", "expected_behavior": "greets politely"}) + "\n"
                    + json.dumps({"case_id": "c3", "query": "new", "expected_behavior": "x"}) + "\n")
    second = load_cases(path).cases
    previous = {c.case_id: c.case_hash for c in first}
    changes = case_changes(previous, second)
    assert [(c, what) for c, what, _, _ in changes] == [("c1", "changed"), ("c3", "added"), ("c2", "removed")]
    assert changes[0][2] == previous["c1"] and changes[0][3] != previous["c1"]
    assert case_changes({c.case_id: c.case_hash for c in second}, second) == []
