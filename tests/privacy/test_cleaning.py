"""scrub_day: every text field scrubbed, nulls and turn order kept, ids pseudonymized."""

from __future__ import annotations

import json

import polars as pl

from pipeline.privacy.anonymize import Anonymizer
from pipeline.privacy.cleaning import scrub_day

FEEDBACK = pl.Struct({"thumbs": pl.Int8, "regenerated": pl.Boolean, "copied": pl.Boolean, "edited_response": pl.String})


def test_scrub_day_keeps_shape_and_nulls():
    a = Anonymizer(b"k")
    day = pl.DataFrame({
        "request_id": ["a", "b"], "user_id": ["u1", "u2"], "session_id": [None, "s1"],
        "messages": [[{"role": "user", "content": "my name is Olga Larsen, mail x@y.org"}],
                     [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "hello"}, {"role": "user", "content": "call +1 415-555-0132"}]],
        "response": ["ok Olga Larsen", ""],
        "feedback": pl.Series([None, {"thumbs": -1, "regenerated": True, "copied": None, "edited_response": "x@y.org"}],
                              dtype=FEEDBACK),
        "metadata": [None, json.dumps({"topic": "billing", "note": "ip 203.0.113.9"})],
        "extra": [json.dumps({"client": {"email": "x@y.org"}}), None],
    })
    out, counts = scrub_day(day, a)
    assert out.columns == day.columns and out.height == 2
    first, second = out.to_dicts()
    email = a.placeholder("EMAIL", "x@y.org")
    assert first["messages"][0]["content"] == f"my name is {a.placeholder('PERSON', 'Olga Larsen')}, mail {email}"
    assert first["response"] == f"ok {a.placeholder('PERSON', 'Olga Larsen')}"  # the name, repeated without its cue
    assert first["feedback"] is None and first["session_id"] is None and first["metadata"] is None
    assert json.loads(first["extra"]) == {"client": {"email": email}}
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][3]["content"] == f"call {a.placeholder('PHONE', '14155550132')}"
    assert second["feedback"] == {"thumbs": -1, "regenerated": True, "copied": None, "edited_response": email}
    assert json.loads(second["metadata"]) == {"topic": "billing", "note": f"ip {a.placeholder('IP_ADDRESS', '203.0.113.9')}"}
    assert first["user_id"] == a.pseudonym("u1", "user") and second["session_id"] == a.pseudonym("s1", "session")
    # the name counts twice: after its cue, and in the answer, where the name lists find it alone
    assert counts == {"PERSON": 2, "EMAIL": 3, "PHONE": 1, "IP_ADDRESS": 1}
