"""Queries as users type them and responses whose wording shows their quality.

A `Piece` list builds a string while remembering where each PII value sits, so the gold spans
are exact by construction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from pipeline.demo import catalog, pii
from pipeline.demo.world import Variant


@dataclass
class Text:
    """A string being built, with the PII spans inside it."""

    parts: list[str] = field(default_factory=list)
    spans: list[tuple[int, int, str, str]] = field(default_factory=list)  # start, end, type, value
    length: int = 0

    def add(self, s: str) -> "Text":
        self.parts.append(s)
        self.length += len(s)
        return self

    def add_pii(self, kind: str, value: str) -> "Text":
        self.spans.append((self.length, self.length + len(value), kind, value))
        return self.add(value)

    def add_carrier(self, rng: random.Random, kind: str) -> str:
        """Append a sentence that reveals one PII value; returns the value."""
        value = pii.GENERATORS[kind](rng)
        before, after = rng.choice(pii.CARRIERS[kind]).split("{v}")
        self.add(before).add_pii(kind, value).add(after)
        return value

    @property
    def value(self) -> str:
        return "".join(self.parts)


def typo(rng: random.Random, s: str) -> str:
    """One or two keyboard slips: swaps, drops and doubles, as people type on phones."""
    chars = list(s)
    for _ in range(rng.randint(1, 2)):
        if len(chars) < 4:
            break
        i = rng.randrange(1, len(chars) - 2)
        if not chars[i].isalpha():
            continue
        op = rng.random()
        if op < 0.4:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op < 0.7:
            del chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def realize(rng: random.Random, variant: Variant) -> dict[str, int]:
    """One response's quality per dimension: the variant's latent level plus noise."""
    return {d: max(1, min(5, round(q + rng.gauss(0.0, 0.8)))) for d, q in variant.quality.items()}


def compose_response(rng: random.Random, intent: catalog.Intent, realized: dict[str, int],
                     variant: Variant, out: Text) -> None:
    """Write the answer so that each dimension's level is visible in the text."""
    correct = realized["correctness"] >= 4
    core = intent.correct if realized["correctness"] >= 3 else intent.wrong
    if realized["correctness"] == 3:
        core += " (This changed in a recent version, so older guides may differ.)"
    calib = realized["calibration"]
    if correct and calib <= 2:
        core = f"{rng.choice(catalog.HEDGES)} maybe {core[0].lower()}{core[1:]} I'm really not sure though."
    elif not correct and calib >= 4:
        core = f"{rng.choice(catalog.HEDGES)} {core[0].lower()}{core[1:]} Please verify this in the documentation."
    elif not correct and calib <= 2:
        core = f"{rng.choice(catalog.OVERCONFIDENT)} {core}"
    if realized["relevance"] <= 2:
        other = rng.choice([i for i in catalog.INTENTS if i.topic == intent.topic and i.key != intent.key] or [intent])
        out.add(f"Regarding {other.queries[0].rstrip('?').lower()}: {other.correct} ")
    clarity = realized["clarity"]
    if clarity >= 4:
        out.add(core + "\n\n")
        for k, step in enumerate(intent.steps, 1):
            out.add(f"{k}. {step}\n")
    elif clarity == 3:
        out.add(core + " In short: " + "; ".join(s.lower() for s in intent.steps) + ".")
    else:
        run_on = " and ".join(s.lower() for s in intent.steps)
        out.add(f"so basically {core[0].lower()}{core[1:].rstrip('.')} and {run_on} and so on and so on")
    if variant.citations:
        out.add(f" [1] docs.example.com/{intent.topic}/{intent.key}")
    if realized["relevance"] == 3 or realized["relevance"] <= 2:
        out.add(" " + rng.choice(catalog.TANGENTS))
    length = realized["length"]
    if length <= 3:
        pad = (5 - length) * (3 if variant.verbose else 1)
        if variant.verbose or rng.random() < 0.6:
            out.add("\n\n" + " ".join(rng.choice(catalog.FILLER) for _ in range(pad)))
        else:
            # too terse: only the first sentence survives
            terse = re.split(r"(?<=[a-z)`][.!?])\s", out.value, maxsplit=1)[0]
            out.parts, out.length = [terse], len(terse)
            out.spans = [s for s in out.spans if s[1] <= len(terse)]
    if variant.verbose:
        out.add("\n\nIn more detail:\n" + "\n".join(f"- {s}: " + rng.choice(catalog.FILLER) for s in intent.steps))


def edit(rng: random.Random, response: str) -> str:
    """What a user does to a draft before using it: trims, rewords, adds a line."""
    sentences = response.split(". ")
    if len(sentences) > 2:
        del sentences[rng.randrange(len(sentences))]
    out = ". ".join(sentences).replace("It is important", "Note").replace("basically ", "")
    return out + rng.choice(["", "\n\nBest regards", " Thanks!"])
