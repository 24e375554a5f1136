"""Candidates generated from candidates.yaml through the real HTTP path, cached on rerun."""

from __future__ import annotations

import pytest

from pipeline.judge.generation import generate, load_candidates_yaml
from pipeline.judge.local_server import Faults, LocalLLMServer
from pipeline.warehouse import connect


def test_candidates_yaml_is_validated(tmp_path):
    path = tmp_path / "candidates.yaml"
    assert load_candidates_yaml(path) == []
    path.write_text("candidates:\n  - {name: a, model: openai/x, temperature: 0.2}\n  - {name: b, model: openai/y, colour: red}\n")
    with pytest.raises(ValueError, match="candidate b has unknown fields colour"):
        load_candidates_yaml(path)
    path.write_text("candidates:\n  - {name: a}\n")
    with pytest.raises(ValueError, match="candidate 1 needs a name and a model"):
        load_candidates_yaml(path)


def test_every_candidate_answers_every_eval_item_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local")  # the provider's own variable, as for any OpenAI-compatible server
    with LocalLLMServer(Faults(schedule=("5xx",))) as server:
        (tmp_path / "candidates.yaml").write_text(
            f"candidates:\n  - {{name: terse, model: openai/terse, system_prompt: Be brief., api_base: '{server.base_url}'}}\n"
            f"  - {{name: chatty, model: openai/chatty, temperature: 1.0, api_base: '{server.base_url}'}}\n")
        candidates = load_candidates_yaml(tmp_path / "candidates.yaml")
        with connect(tmp_path / "w.duckdb") as con:
            con.execute("insert into eval_set_versions values ('v1', '2026-07-01', now(), null, 3, '{}', '{}', '{}', '{}')")
            for i in range(3):
                con.execute("insert into eval_set values ('2026-07-01', 'v1', $id, 'head', 's', 'r', "
                            "[{'role': 'system', 'content': 'sys'}, {'role': 'user', 'content': $q}], $q, 'resp', null, null, now())",
                            {"id": f"i{i}", "q": f"question {i}?"})
            first = generate(con, candidates)
            calls = server.total_calls
            second = generate(con, candidates)
            rows = con.execute("select variant, count(*), count(distinct item_id) from candidate_responses "
                               "where origin = 'generated' group by 1 order by 1").fetchall()
            first_turns = con.execute("select messages[1].role from candidate_responses limit 1").fetchone()[0]
    assert (first.generated, first.failed, first.cache_hits) == (6, 0, 0) and calls == 12  # each retried once after a 503
    assert (second.generated, second.cache_hits, second.calls) == (0, 6, 0) and server.total_calls == calls
    assert rows == [("chatty", 3, 3), ("terse", 3, 3)] and first_turns == "user"  # the item's own system turn is dropped


def test_a_missing_key_fails_fast(tmp_path, monkeypatch):
    import asyncio

    from pipeline.judge.client import LLMClient, LLMConfigError, LLMSettings

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with LocalLLMServer(Faults()) as server:
        client = LLMClient(LLMSettings(model="openai/x", api_base=server.base_url))
        with pytest.raises(LLMConfigError, match="no API key"):
            asyncio.run(client.complete([{"role": "user", "content": "hi"}]))
    assert client.stats.retries == 0
