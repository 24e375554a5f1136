"""The demo generator: complete, reproducible, and realistic where later stages depend on it."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from pipeline.demo import pii
from pipeline.demo.generator import DemoConfig, generate


def _records(source: Path) -> list[dict]:
    out = []
    for path in sorted((source / "logs").rglob("*")):
        if "bad" in path.parts:  # the planted broken files
            continue
        if path.name.endswith(".jsonl.gz"):
            lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        elif path.name.endswith(".jsonl"):
            lines = path.read_text().splitlines()
        elif path.suffix == ".csv":
            out.extend(csv.DictReader(path.open()))
            continue
        elif path.suffix == ".parquet":
            out.extend(pq.read_table(path).to_pylist())
            continue
        else:
            continue
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def test_every_part_of_the_contract_is_written(demo_source):
    for part in ("logs", "experiments", "assignments", "events", "human_labels", "judgments", "candidate_responses"):
        assert any((demo_source / part).rglob("*.*")), part
    assert (demo_source / "regression_set.jsonl").exists() and (demo_source / "metrics.yaml").exists()
    formats = Counter(p.name.split(".", 1)[1] for p in (demo_source / "logs").rglob("*.*"))
    assert {"jsonl", "jsonl.gz", "parquet", "csv"} <= set(formats)


def test_same_seed_same_bytes(tmp_path):
    def digest(out: Path) -> str:
        generate(DemoConfig(out=out, months=1, interactions=400, seed=3))
        h = hashlib.sha256()
        for p in sorted(out.rglob("*")):
            if p.is_file() and p.suffix != ".parquet":  # parquet embeds a writer version
                h.update(p.relative_to(out).as_posix().encode() + p.read_bytes())
        return h.hexdigest()
    first = digest(tmp_path / "a")
    time.sleep(1.1)  # gzip stamps the time in whole seconds: the runs must straddle one
    assert first == digest(tmp_path / "b")


def test_topic_mix_is_skewed_like_production(demo_source):
    topics = Counter()
    for r in _records(demo_source):
        meta = r.get("metadata")
        meta = json.loads(meta) if isinstance(meta, str) else meta
        topics[meta["topic"]] += 1
    total = sum(topics.values())
    assert abs(topics["coding"] / total - 0.60) < 0.04
    assert abs(topics["billing"] / total - 0.20) < 0.04


def test_gold_pii_spans_point_at_the_value(demo_source):
    by_id = {r["request_id"]: r for r in _records(demo_source)}
    spans = [json.loads(line) for line in gzip.open(demo_source / "gold" / "pii_spans.jsonl.gz", "rt")]
    kinds = Counter(s["type"] for s in spans)
    assert set(kinds) == set(pii.GENERATORS), kinds
    checked = 0
    for s in spans:
        r = by_id.get(s["request_id"])
        if r is None or s["field"] != "response":
            continue
        assert r["response"][s["start"]:s["end"]] == s["text"]
        checked += 1
    assert checked > 20


def test_structured_pii_values_are_valid(demo_source):
    spans = [json.loads(line) for line in gzip.open(demo_source / "gold" / "pii_spans.jsonl.gz", "rt")]
    cards = [s["text"] for s in spans if s["type"] == "CREDIT_CARD"]
    assert cards and all(pii.luhn_valid(c) for c in cards)
    for iban in (s["text"].replace(" ", "") for s in spans if s["type"] == "IBAN"):
        assert int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1
    for ssn in (s["text"] for s in spans if s["type"] == "US_SSN"):
        area = int(ssn[:3])
        assert 0 < area < 900 and area != 666


def test_experiments_cover_four_kinds_and_are_consistent(demo_source):
    docs = [yaml.safe_load(p.read_text()) for p in sorted((demo_source / "experiments").glob("*.yaml"))]
    assert {"model_comparison", "prompt_comparison", "config_tuning", "feature_flag"} <= {d["kind"] for d in docs}
    for d in docs:
        assert abs(sum(d["variants"].values()) - 1.0) < 1e-9 and d["control"] in d["variants"]
        assert d["start"] <= d["end"]
        rows = list(csv.DictReader((demo_source / "assignments" / f"{d['experiment_id']}.csv").open()))
        assert rows and {r["variant"] for r in rows} <= set(d["variants"])


def test_planted_bad_inputs_exist(demo_source):
    truth = json.loads((demo_source / "gold" / "truth.json").read_text())
    assert truth["planted_rejects"] == {"missing_field": 1, "wrong_type": 1, "invalid_json": 1, "non_utf8": 1, "truncated_gzip": 1}
    assert (demo_source / "logs" / "bad" / "empty.jsonl").stat().st_size == 0


def test_human_labels_have_several_annotators_per_item(demo_source):
    rows = list(csv.DictReader(next((demo_source / "human_labels").glob("pointwise-*.csv")).open()))
    per_item = Counter((r["item_id"], r["dimension"]) for r in rows)
    assert max(per_item.values()) >= 2 and len({r["annotator_id"] for r in rows}) >= 2
