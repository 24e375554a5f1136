"""Versioned judging rubrics (YAML) and the judge version they make with model and template."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

RUBRIC_DIR = Path(__file__).parent / "rubrics"


@dataclass(frozen=True)
class Rubric:
    version: str
    kind: str  # "scale" or "binary"
    low: int
    high: int
    dimensions: dict[str, dict]  # name -> {question, anchors}
    text: str  # the file's content: part of the judge version

    @property
    def names(self) -> list[str]:
        return list(self.dimensions)


def load_rubric(path: str | Path | None = None) -> Rubric:
    """A rubric file (default: the packaged rubric-v1); raises ValueError naming the problem."""
    path = Path(path) if path else RUBRIC_DIR / "default.yaml"
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    kind = doc.get("kind", "scale")
    if kind not in ("scale", "binary"):
        raise ValueError(f"{path}: kind must be scale or binary, not {kind!r}")
    low, high = (0, 1) if kind == "binary" else (int(doc.get("min", 1)), int(doc.get("max", 5)))
    dims = doc.get("dimensions") or {}
    if not isinstance(dims, dict) or not dims:
        raise ValueError(f"{path}: a rubric needs at least one dimension")
    for name, spec in dims.items():
        if not isinstance(spec, dict) or not spec.get("question"):
            raise ValueError(f"{path}: dimension {name} needs a question")
    if not doc.get("version"):
        raise ValueError(f"{path}: a rubric needs a version")
    return Rubric(str(doc["version"]), kind, low, high, dims, text)


def judge_version(model: str, rubric: Rubric, template: str) -> str:
    """A change of model, rubric or prompt template is a new judge version."""
    payload = json.dumps({"model": model, "rubric": rubric.text, "template": template}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
