"""The simulated product: users, variants with latent quality, experiments, and how people react.

Everything here is a pure function of the seed, so the demo and every test fixture are
reproducible. The ground truth (latent qualities, planted effects, the judge-shift month) is
written beside the data, so later stages can be checked against it.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

DIMENSIONS = ("correctness", "relevance", "clarity", "calibration", "length")

# Latent quality per rubric dimension, 1-5; "length" is 5 at the ideal length.
PRODUCTION = {"correctness": 3.6, "relevance": 3.9, "clarity": 3.4, "calibration": 3.2, "length": 3.8}

# How much users care about each dimension (the judge weighs them differently; that gap is the
# point of calibration). Mobile users care twice as much about length.
USER_WEIGHTS = {"correctness": 0.55, "relevance": 0.30, "clarity": 0.12, "calibration": 0.15, "length": 0.35}


def shifted(**deltas: float) -> dict[str, float]:
    return {d: min(5.0, max(1.0, PRODUCTION[d] + deltas.get(d, 0.0))) for d in DIMENSIONS}


@dataclass(frozen=True)
class Variant:
    name: str
    model: str
    prompt_version: str
    quality: dict[str, float]
    verbose: bool = False  # length problems come from padding, not from terseness
    latency_factor: float = 1.0
    cost_factor: float = 1.0
    temperature: float = 0.7
    citations: bool = False


@dataclass(frozen=True)
class ExperimentPlan:
    experiment_id: str
    kind: str
    hypothesis: str
    start: date
    end: date
    control: str
    allocation: dict[str, float]
    variants: dict[str, Variant]
    primary_metrics: tuple[str, ...]
    guardrails: tuple[dict, ...]
    mde: dict[str, float]
    sequential: bool
    # fraction of treatment users on android whose assignment record a logging bug drops (SRM)
    lost_assignments: float = 0.0
    notes: str = ""


BASE = Variant("control", "acme-chat-small", "v3", dict(PRODUCTION))


def experiment_plans(start: date, end: date) -> list[ExperimentPlan]:
    """Five experiments of four kinds, laid end to end over the demo range."""
    span = (end - start).days + 1
    slot = max(3, span // 5)

    def window(k: int) -> tuple[date, date]:
        s = start + timedelta(days=k * slot + min(3, slot // 4))
        return s, min(end, s + timedelta(days=max(2, slot - min(3, slot // 4) - 1)))

    plans = []
    s, e = window(0)
    plans.append(ExperimentPlan(
        f"model-upgrade-{s:%Y-%m}", "model_comparison",
        "The large model lowers thumbs-down; latency stays within 500 ms.", s, e, "control",
        {"control": 0.5, "large": 0.5},
        {"control": BASE, "large": Variant("large", "acme-chat-large", "v3",
                                           shifted(correctness=0.6, calibration=0.4, relevance=0.2),
                                           latency_factor=1.9, cost_factor=4.0)},
        ("thumbs_down_rate",),
        ({"metric": "resolution_rate", "non_inferiority_margin": 0.01},
         {"metric": "latency_ms", "non_inferiority_margin": 500}),
        {"thumbs_down_rate": 0.10}, True,
        notes="wins on quality, fails the latency guardrail"))
    s, e = window(1)
    plans.append(ExperimentPlan(
        f"detailed-prompt-{s:%Y-%m}", "prompt_comparison",
        "A more detailed prompt gives more complete answers and fewer thumbs-down.", s, e, "control",
        {"control": 0.5, "detailed": 0.5},
        {"control": BASE, "detailed": Variant("detailed", "acme-chat-small", "v4-detailed",
                                              shifted(clarity=0.8, correctness=0.15, relevance=-0.1, length=-1.6),
                                              verbose=True, latency_factor=1.5, cost_factor=1.7)},
        ("thumbs_down_rate",),
        ({"metric": "resolution_rate", "non_inferiority_margin": 0.01},),
        {"thumbs_down_rate": 0.10}, True,
        notes="longer answers a judge favours; users (mobile above all) dislike them"))
    s, e = window(2)
    plans.append(ExperimentPlan(
        f"temperature-{s:%Y-%m}", "config_tuning",
        "A lower temperature raises resolution without hurting writing tasks.", s, e, "t07",
        {"t07": 0.34, "t03": 0.33, "t10": 0.33},
        {"t07": Variant("t07", "acme-chat-small", "v3", dict(PRODUCTION)),
         "t03": Variant("t03", "acme-chat-small", "v3", shifted(correctness=0.3, calibration=0.2), temperature=0.3),
         "t10": Variant("t10", "acme-chat-small", "v3", shifted(correctness=-0.4, relevance=-0.3, clarity=-0.2), temperature=1.0)},
        ("resolution_rate",),
        ({"metric": "thumbs_down_rate", "non_inferiority_margin": 0.01},),
        {"resolution_rate": 0.03}, False,
        notes="three arms; writing users prefer the higher temperature"))
    s, e = window(3)
    plans.append(ExperimentPlan(
        f"citations-{s:%Y-%m}", "feature_flag",
        "Inline citations raise copy rate and 7-day retention.", s, e, "off",
        {"off": 0.5, "on": 0.5},
        {"off": BASE, "on": Variant("on", "acme-chat-small", "v3-citations",
                                    shifted(calibration=0.7, correctness=0.1, length=-0.2), citations=True,
                                    latency_factor=1.1, cost_factor=1.1)},
        ("copy_rate", "retained_d7"),
        ({"metric": "thumbs_down_rate", "non_inferiority_margin": 0.01},),
        {"copy_rate": 0.05, "retained_d7": 0.02}, True))
    s, e = window(4)
    plans.append(ExperimentPlan(
        f"followups-{s:%Y-%m}", "feature_flag",
        "Suggested follow-up questions raise chats per user.", s, e, "off",
        {"off": 0.5, "on": 0.5},
        {"off": BASE, "on": Variant("on", "acme-chat-small", "v3-followups", shifted(relevance=0.1))},
        ("resolution_rate",),
        ({"metric": "thumbs_down_rate", "non_inferiority_margin": 0.01},),
        {"resolution_rate": 0.03}, False, lost_assignments=0.6,
        notes="a client bug drops assignment events for android users in treatment: SRM"))
    return plans


@dataclass(frozen=True)
class User:
    user_id: str
    plan: str
    device: str
    locale: str
    propensity: float  # persistent satisfaction: what CUPED's pre-period covariate captures


LOCALES = (("en-US", 0.55), ("en-GB", 0.13), ("de-DE", 0.10), ("es-ES", 0.08), ("fr-FR", 0.08), ("ja-JP", 0.06))


def make_users(n: int, seed: int) -> list[User]:
    rng = random.Random(f"{seed}:users")
    users = []
    locales, lw = zip(*LOCALES)
    for i in range(n):
        uid = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=6).hexdigest()
        users.append(User(
            f"usr_{uid}",
            "paid" if rng.random() < 0.3 else "free",
            rng.choices(("web", "ios", "android"), (0.5, 0.3, 0.2))[0],
            rng.choices(locales, lw)[0],
            rng.gauss(0.0, 1.0),
        ))
    return users


def bucket(seed: int, experiment_id: str, user_id: str) -> float:
    """Deterministic uniform number in [0, 1) for hashing a user into an arm."""
    h = hashlib.blake2b(f"{seed}:{experiment_id}:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def assign(plan: ExperimentPlan, seed: int, user_id: str) -> str:
    u, acc = bucket(seed, plan.experiment_id, user_id), 0.0
    for name, share in plan.allocation.items():
        acc += share
        if u < acc:
            return name
    return plan.control


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class Reaction:
    thumbs: int | None
    regenerated: bool
    copied: bool
    edited: bool
    resolved: bool
    ticket: bool
    utility: float = 0.0


def react(rng: random.Random, user: User, realized: dict[str, int], topic: str, variant: Variant) -> Reaction:
    """How a user responds to what they saw: a noisy function of the visible quality."""
    weights = dict(USER_WEIGHTS)
    if user.device != "web":
        weights["length"] *= 2.0
    u = sum(w * (realized[d] - 3.0) for d, w in weights.items())
    if topic == "writing":
        u += 0.6 * (variant.temperature - 0.7)  # writers like a little randomness
    u += 0.45 * user.propensity + rng.gauss(0.0, 0.6)
    thumbs = None
    if rng.random() < 0.32:
        thumbs = 0 if rng.random() < 0.04 else (1 if rng.random() < sigmoid(0.4 + 1.3 * u) else -1)
    return Reaction(
        thumbs=thumbs,
        regenerated=rng.random() < sigmoid(-2.3 - 1.1 * u),
        copied=rng.random() < sigmoid(-1.2 + 0.8 * u + (0.9 if topic == "coding" else 0.0) + (0.3 if variant.citations else 0.0)),
        edited=topic == "writing" and rng.random() < sigmoid(-1.0 - 0.6 * u),
        resolved=rng.random() < sigmoid(0.4 + 1.0 * u),
        ticket=rng.random() < sigmoid(-3.4 - 0.9 * u + (1.0 if topic == "billing" else 0.0)),
        utility=u,
    )
