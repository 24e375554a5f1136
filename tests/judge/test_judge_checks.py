"""Judge checks: model families, self-preference, candidates.yaml."""

from __future__ import annotations

import pytest

from pipeline.judge.checks import candidate_models, model_family, self_preference


@pytest.mark.parametrize("model, family", [
    ("openai/gpt-4o-2024-08-06", "gpt"), ("gpt-4.1-mini", "gpt"), ("openai/o3-mini", "gpt"),
    ("anthropic/claude-3-5-sonnet-20241022", "claude"), ("gemini/gemini-1.5-pro", "gemini"),
    ("ollama/llama3.1:8b", "llama"), ("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "qwen"),
    ("evalfunnel/heuristic", "heuristic"), ("acme-chat-large", "acme"),
])
def test_model_family(model, family):
    assert model_family(model) == family


def test_self_preference_names_candidates_of_the_judges_family(tmp_path):
    (tmp_path / "candidates.yaml").write_text(
        "candidates:\n  - {name: mini, model: openai/gpt-4o-mini}\n  - {name: sonnet, model: anthropic/claude-3-5-sonnet}\n")
    candidates = candidate_models(tmp_path)
    assert candidates == {"mini": "openai/gpt-4o-mini", "sonnet": "anthropic/claude-3-5-sonnet"}
    assert self_preference("openai/gpt-4o", candidates) == ["mini"]
    assert self_preference("evalfunnel/heuristic", candidates) == []
    assert candidate_models(tmp_path / "missing") == {}
