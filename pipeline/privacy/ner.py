"""Optional person-name detection by NER (Presidio over a spaCy pipeline), for eval-set items.

The regex anonymizer finds names only after cue words ("my name is ..."). With the `ner` extra
installed (`pip install 'evalfunnel[ner]'`) and EVALFUNNEL_NER_MODEL naming a spaCy pipeline
(a package such as `en_core_web_lg`, or a folder), every text that enters an eval set is also
scanned by Presidio's PERSON recognizer, and each name found becomes the same keyed
`<PERSON_...>` placeholder the anonymizer uses. Without them the eval set says so in its
metadata (ner_backend: none).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache

from pipeline.privacy.anonymize import Anonymizer

NameFinder = Callable[[str], list[tuple[int, int]]]  # text -> (start, end) of each person name
_PLACEHOLDER = re.compile(r"<[A-Z_]+_[0-9a-f]{8}>")


class NerUnavailable(RuntimeError):
    """EVALFUNNEL_NER_MODEL is set but Presidio, spaCy or the model cannot be loaded."""


@cache
def presidio_finder(model: str, min_score: float = 0.5) -> NameFinder:
    """A name finder backed by Presidio's analyzer on the spaCy pipeline `model`."""
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as exc:
        raise NerUnavailable("EVALFUNNEL_NER_MODEL is set but presidio-analyzer is not installed: "
                             "pip install 'evalfunnel[ner]'") from exc
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    try:
        provider = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
        engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    except (OSError, ValueError) as exc:
        raise NerUnavailable(f"cannot load the spaCy pipeline {model!r} for NER: {exc}") from exc

    def find(text: str) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in engine.analyze(text=text, language="en", entities=["PERSON"])
                if r.score >= min_score]

    return find


def scrub_names(text: str, find: NameFinder, anonymizer: Anonymizer) -> tuple[str, int]:
    """Replace every name `find` reports (outside existing placeholders) by its placeholder."""
    if not text:
        return text, 0
    taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    spans = sorted((s, e) for s, e in find(text) if e > s and not any(s < te and ts < e for ts, te in taken))
    out, last, replaced = [], 0, 0
    for start, end in spans:
        if start < last:  # overlapping reports: the first one wins
            continue
        out += [text[last:start], anonymizer.placeholder("PERSON", text[start:end])]
        last, replaced = end, replaced + 1
    return "".join(out) + text[last:], replaced
