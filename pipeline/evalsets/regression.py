"""The regression set: curated known failures, kept by the user in git, versioned by content.

Each case is hashed over its content; a case whose hash changes is a new version, recorded in
regression_set_history with what changed, never silently replaced. Bad cases are rejected with
the line and reason; the others still load.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

CHECK_FIELDS = ("must_contain", "must_not_contain", "regex", "json_schema")
CASE_FIELDS = ("case_id", "messages", "query", "expected_behavior", *CHECK_FIELDS, "reason", "added_at", "source")
ROLES = {"system", "user", "assistant", "tool"}


@dataclass(frozen=True)
class Case:
    case_id: str
    messages: list[dict]
    expected_behavior: str
    must_contain: list[str]
    must_not_contain: list[str]
    regex: str | None
    json_schema: dict | None
    reason: str | None
    added_at: str | None
    source: str | None
    case_hash: str

    @property
    def query(self) -> str:
        """The last user turn: what the eval set must never contain."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass
class LoadedCases:
    cases: list[Case] = field(default_factory=list)
    rejects: list[tuple[int, str]] = field(default_factory=list)  # line, reason


def case_hash(doc: dict) -> str:
    content = {k: doc.get(k) for k in CASE_FIELDS if k != "case_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def parse_case(doc: object) -> Case:
    """One case from its JSON object; raises ValueError with what is wrong."""
    if not isinstance(doc, dict):
        raise ValueError("a case must be a JSON object")
    case_id = doc.get("case_id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise ValueError("case_id: missing or not a string")
    messages = doc.get("messages")
    if messages is None:
        query = doc.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("messages/query: one of them is required")
        messages = [{"role": "user", "content": query}]
    elif not (isinstance(messages, list) and messages and all(
            isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages)):
        raise ValueError("messages: must be a non-empty list of {role, content} with a known role")
    if not isinstance(doc.get("expected_behavior"), str) or not doc["expected_behavior"].strip():
        raise ValueError("expected_behavior: missing")
    for key in ("must_contain", "must_not_contain"):
        value = doc.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"{key}: must be a list of strings")
    if doc.get("regex") is not None:
        try:
            re.compile(doc["regex"])
        except (re.error, TypeError) as exc:
            raise ValueError(f"regex: does not compile ({exc})") from exc
    if doc.get("json_schema") is not None and not isinstance(doc["json_schema"], dict):
        raise ValueError("json_schema: must be a JSON Schema object")
    return Case(case_id.strip(), messages, doc["expected_behavior"], doc.get("must_contain", []),
                doc.get("must_not_contain", []), doc.get("regex"), doc.get("json_schema"), doc.get("reason"),
                doc.get("added_at"), doc.get("source"), case_hash(doc))


def load_cases(path: Path) -> LoadedCases:
    """Every case of regression_set.jsonl; a missing file is an empty set."""
    loaded = LoadedCases()
    if not path.exists():
        return loaded
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = parse_case(json.loads(line))
        except json.JSONDecodeError:
            loaded.rejects.append((n, "not valid JSON"))
            continue
        except ValueError as exc:
            loaded.rejects.append((n, str(exc)))
            continue
        if case.case_id in seen:
            loaded.rejects.append((n, f"case_id {case.case_id} repeats an earlier line"))
            continue
        seen.add(case.case_id)
        loaded.cases.append(case)
    return loaded


def case_changes(previous: dict[str, str], current: list[Case]) -> list[tuple[str, str, str | None, str]]:
    """(case_id, change, old hash, new hash) against the previously loaded hashes."""
    changes = []
    now = {c.case_id: c.case_hash for c in current}
    for case_id, new in sorted(now.items()):
        old = previous.get(case_id)
        if old is None:
            changes.append((case_id, "added", None, new))
        elif old != new:
            changes.append((case_id, "changed", old, new))
    for case_id in sorted(previous.keys() - now.keys()):
        changes.append((case_id, "removed", previous[case_id], ""))
    return changes


def promoted_case(request_id: str, messages: list[dict], response: str, reason: str) -> dict:
    """A regression case made from a logged (already anonymized) failure."""
    return {
        "case_id": f"log-{request_id}",
        "messages": [m for m in messages if m["role"] != "system"],
        "expected_behavior": f"Does better than the logged answer: {reason}",
        "must_not_contain": [response[:200]] if response.strip() else [],
        "reason": reason,
        "added_at": datetime.now(UTC).date().isoformat(),
        "source": f"log:{request_id}",
    }
