"""The optional NER name pass: span replacement, and the real Presidio path on a spaCy
pipeline built here (an entity ruler: no model download, but Presidio's own code end to end)."""

from __future__ import annotations

import re

import pytest

from pipeline.privacy.anonymize import Anonymizer
from pipeline.privacy.ner import NerUnavailable, presidio_finder, scrub_names

A = Anonymizer(b"ner")


def test_spans_become_the_anonymizers_placeholders_and_placeholders_stay():
    def find(text: str) -> list[tuple[int, int]]:  # a stand-in that knows two names
        return [m.span() for m in re.finditer(r"Olga Larsen|Wei Zhang", text)]

    out, n = scrub_names("Thanks Olga Larsen, from <EMAIL_0123abcd> and Wei Zhang.", find, A)
    assert n == 2 and out == f"Thanks {A.placeholder('PERSON', 'Olga Larsen')}, from <EMAIL_0123abcd> and " \
                              f"{A.placeholder('PERSON', 'Wei Zhang')}."
    assert scrub_names(out, find, A) == (out, 0)  # idempotent
    assert scrub_names("", find, A) == ("", 0)


@pytest.fixture(scope="module")
def spacy_pipeline(tmp_path_factory) -> str:
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": [{"TEXT": {"IN": ["Maria", "Kenji", "Amara"]}}, {"IS_TITLE": True}]}])
    path = tmp_path_factory.mktemp("ner-model")
    nlp.to_disk(path)
    return str(path)


def test_presidio_finds_names_without_cue_words(spacy_pipeline):
    find = presidio_finder(spacy_pipeline)
    text = "Please forward this to Maria Novak and Kenji Tanaka before Friday."
    out, n = scrub_names(text, find, A)
    assert n == 2 and "Maria Novak" not in out and "Kenji Tanaka" not in out
    assert out.startswith("Please forward this to <PERSON_") and out.endswith(" before Friday.")


def test_a_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(NerUnavailable, match="cannot load the spaCy pipeline"):
        presidio_finder(str(tmp_path / "no-such-model"))
