"""Which days the log sensor re-ingests when files appear, change or disappear."""

from __future__ import annotations

from datetime import date

from pipeline.logs.ingest import changed_days, discover
from tests.conftest import record, write_jsonl


def test_new_changed_and_deleted_files_touch_their_days(source):
    write_jsonl(source / "logs" / "a.jsonl", [record("a", ts="2026-05-02T10:00:00Z")])
    write_jsonl(source / "logs" / "b.jsonl", [record("b", ts="2026-05-03T10:00:00Z"), record("c", ts="2026-05-04T01:00:00Z")])
    touched, cursor = changed_days(discover(source)[0], {})
    assert touched == {date(2026, 5, 2), date(2026, 5, 3), date(2026, 5, 4)}

    touched, cursor = changed_days(discover(source)[0], cursor)
    assert touched == set()  # nothing changed: nothing to do

    write_jsonl(source / "logs" / "b.jsonl", [record("b", ts="2026-05-09T10:00:00Z")])  # moved to another day
    touched, cursor = changed_days(discover(source)[0], cursor)
    assert touched == {date(2026, 5, 3), date(2026, 5, 4), date(2026, 5, 9)}

    (source / "logs" / "a.jsonl").unlink()
    touched, cursor = changed_days(discover(source)[0], cursor)
    assert touched == {date(2026, 5, 2)} and "logs/a.jsonl" not in cursor
