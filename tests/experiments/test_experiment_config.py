"""Pre-registrations and metric definitions: every mistake named with its file; the rest load."""

from __future__ import annotations

import pytest
import yaml

from pipeline.experiments.registry import (
    ExperimentConfigError,
    builtin_metrics,
    load_experiments,
    load_metrics,
)

GOOD = {"experiment_id": "exp-1", "start": "2026-03-02", "end": "2026-03-30", "control": "control",
        "variants": {"control": 0.5, "concise": 0.5}, "primary_metrics": ["thumbs_down_rate"],
        "guardrail_metrics": [{"metric": "latency_ms", "non_inferiority_margin": 200}],
        "minimum_detectable_effect": {"thumbs_down_rate": 0.1}, "alpha": 0.05, "power": 0.8, "sequential": True}


@pytest.mark.parametrize("change, problem", [
    ({"primary_metrics": ["nps"]}, "unknown metric 'nps'"),
    ({"variants": {"control": 0.5, "concise": 0.4}}, "allocations must be positive and sum to 1, got 0.9"),
    ({"control": "baseline"}, "control 'baseline' is not among the variants"),
    ({"end": "2026-03-01"}, "end 2026-03-01 is before start 2026-03-02"),
    ({"minimum_detectable_effect": {}}, "power is asked but minimum_detectable_effect has no entry for thumbs_down_rate"),
    ({"guardrail_metrics": [{"metric": "latency_ms"}]}, "each guardrail needs metric and a numeric non_inferiority_margin"),
    ({"start": "March"}, "start must be a date"),
])
def test_each_mistake_is_rejected_with_its_file_and_the_others_load(tmp_path, change, problem):
    (tmp_path / "good.yaml").write_text(yaml.safe_dump({**GOOD, "experiment_id": "exp-good"}))
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**GOOD, **change}))
    loaded = load_experiments(tmp_path, builtin_metrics())
    assert [s.experiment_id for s in loaded.experiments] == ["exp-good"]
    [(name, reason)] = loaded.rejects
    assert name == "bad.yaml" and reason.startswith("bad.yaml") and problem in reason, reason


def test_a_valid_pre_registration_parses_every_field(tmp_path):
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(GOOD))
    [spec] = load_experiments(tmp_path, builtin_metrics()).experiments
    assert spec.treatments == ["concise"] and spec.metrics == ["thumbs_down_rate", "latency_ms"]
    assert spec.role("latency_ms") == "guardrail" and spec.guardrails[0].margin == 200 and spec.sequential
    assert spec.mde == {"thumbs_down_rate": 0.1} and str(spec.end) == "2026-03-30"


def test_metrics_yaml_adds_event_metrics_and_names_bad_ones(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump({"metrics": {
        "retained": {"kind": "binary", "event": "retained_d7", "window_days": 14, "higher_is_better": True},
        "tickets": {"kind": "ratio", "numerator": "ticket", "denominator": "chat", "higher_is_better": False}}}))
    metrics = load_metrics(path)
    assert metrics["retained"].window_days == 14 and not metrics["retained"].is_ratio
    assert metrics["tickets"].is_ratio and metrics["tickets"].denominator == "chat"
    assert metrics["thumbs_down_rate"].kind == "log" and not metrics["thumbs_down_rate"].higher_is_better
    path.write_text(yaml.safe_dump({"metrics": {"x": {"kind": "ratio", "numerator": "a", "higher_is_better": True}}}))
    with pytest.raises(ExperimentConfigError, match="metrics.yaml: metric 'x': ratio metrics need numerator and denominator"):
        load_metrics(path)
    path.write_text(yaml.safe_dump({"metrics": {"y": {"kind": "count", "event": "a"}}}))
    with pytest.raises(ExperimentConfigError, match="higher_is_better"):
        load_metrics(path)
