"""Stratified, deduplicated, versioned eval sets drawn from anonymized production logs.

An eval set has three parts:
- head: drawn in proportion to production over the strata (slice dimensions), with a minimum per
  stratum, so its scores mean what production scores mean;
- known failures: thumbs down, regenerated, heavily edited answers;
- edge cases: long inputs, multi-turn, non-English, empty answers, refusals.
Failure and edge quotas are shared evenly across their reasons, so no single reason fills them.
A group short of candidates passes what it lacks on (its kind's other groups, then the head in
proportion to production, then any group with candidates left), so the set has `size` items
whenever the pool allows; what no group can fill is reported as the shortfall.

Drawing is deterministic for a partition and seed: candidates are ranked by a seeded hash (in
DuckDB), then walked in order, skipping near-duplicates (normalized text, then character-shingle
Jaccard) of anything already drawn and of any regression-set query.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

FAILURE_REASONS = ("thumbs_down", "regenerated", "heavily_edited")
EDGE_REASONS = ("long_input", "multi_turn", "non_english", "empty_response", "refusal")
KINDS = ("known_failure", "edge_case", "head")


@dataclass(frozen=True)
class EvalSetConfig:
    size: int = 200
    lookback_days: int = 90
    strata: tuple[str, ...] = ("topic",)
    head_share: float = 0.70
    failure_share: float = 0.15
    edge_share: float = 0.15
    min_per_stratum: int = 5
    near_duplicate_jaccard: float = 0.7
    seed: int = 0
    long_input_chars: int = 2000
    heavy_edit_ratio: float = 0.3
    pool_per_group: int = 2000  # candidates per (kind, group) handed from DuckDB to the walk

    def __post_init__(self) -> None:
        shares = self.head_share + self.failure_share + self.edge_share
        if abs(shares - 1.0) > 1e-9:
            raise ValueError(f"eval set shares must sum to 1 (head + failure + edge = {shares:g})")
        if self.size < 1 or not self.strata:
            raise ValueError("eval set size must be positive and at least one stratum dimension given")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=list).encode()).hexdigest()[:12]


def allocate(total: int, mix: dict[str, float], minimum: int = 0) -> dict[str, int]:
    """Split `total` over groups in proportion to `mix`, each getting at least `minimum`
    (when the total allows), by largest remainders: every group lands within one of its
    exact share of what is left after the minimums."""
    groups = sorted(g for g, w in mix.items() if w > 0)
    if not groups or total <= 0:
        return {g: 0 for g in mix}
    floor = min(minimum, total // len(groups))
    rest = total - floor * len(groups)
    weight = sum(mix[g] for g in groups)
    exact = {g: rest * mix[g] / weight for g in groups}
    out = {g: floor + int(exact[g]) for g in groups}
    left = total - sum(out.values())
    for g in sorted(groups, key=lambda g: (-(exact[g] - int(exact[g])), g))[:left]:
        out[g] += 1
    return {g: out.get(g, 0) for g in mix}


def kind_quotas(config: EvalSetConfig) -> dict[str, int]:
    """Items per kind: `size` split by the shares with largest remainders (never negative, always
    `size` in all: rounding each share on its own gave head -1 at size 3 with 0/0.5/0.5)."""
    shares = {"known_failure": config.failure_share, "edge_case": config.edge_share, "head": config.head_share}
    return allocate(config.size, shares)


def quotas(config: EvalSetConfig, production_mix: dict[str, float],
           available: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Items to draw per (kind, group): head groups are strata, failure/edge groups are reasons.
    Reasons without candidates give their share to the others of their kind; a kind with no
    group at all (no candidates, or no production mix) gets no entry here, and `draw` passes
    its whole quota (`kind_quotas`) on."""
    per_kind = kind_quotas(config)
    out = {("head", s): n for s, n in allocate(per_kind["head"], production_mix, config.min_per_stratum).items()}
    for kind, reasons in (("known_failure", FAILURE_REASONS), ("edge_case", EDGE_REASONS)):
        present = {r: 1.0 for r in reasons if available.get((kind, r), 0) > 0}
        for reason, k in allocate(per_kind[kind], present).items():
            out[(kind, reason)] = k
    return out


_PLACEHOLDER = re.compile(r"<([A-Z_]+)_[0-9a-f]{8}>")
_NON_WORD = re.compile(r"[^\w<>]+")


def normalize(text: str) -> str:
    """Lower case, placeholders reduced to their type, punctuation and spacing collapsed:
    `Email <EMAIL_1a2b3c4d>!!` and `email <EMAIL_99999999>` are the same query."""
    return _NON_WORD.sub(" ", _PLACEHOLDER.sub(lambda m: f"<{m.group(1).lower()}>", text.lower())).strip()


def shingles(normalized: str, k: int = 4) -> frozenset[str]:
    padded = f" {normalized} "
    return frozenset(padded[i:i + k] for i in range(max(1, len(padded) - k + 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class NearDuplicates:
    """Remembers accepted texts; says whether a new one repeats any of them."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.exact: set[str] = set()
        self.sets: list[frozenset[str]] = []
        self.by_gram: dict[str, list[int]] = {}

    def seen(self, text: str) -> bool:
        norm = normalize(text)
        if norm in self.exact:
            return True
        grams = shingles(norm)
        # only texts sharing a shingle can be similar: look those up instead of all
        candidates = {i for g in grams for i in self.by_gram.get(g, ())}
        return any(jaccard(grams, self.sets[i]) >= self.threshold for i in candidates)

    def add(self, text: str) -> None:
        norm = normalize(text)
        self.exact.add(norm)
        grams = shingles(norm)
        self.sets.append(grams)
        for g in grams:
            self.by_gram.setdefault(g, []).append(len(self.sets) - 1)


@dataclass
class Draw:
    items: pl.DataFrame
    quotas: dict[tuple[str, str], int]
    shortfall: dict[tuple[str, str], int] = field(default_factory=dict)  # after redistribution
    moved: dict[tuple[str, str], int] = field(default_factory=dict)  # items a group took for others
    skipped_near_duplicates: int = 0
    skipped_regression: int = 0


class _Walk:
    """Pulls acceptable items from ranked groups, remembering where each group stopped."""

    def __init__(self, pool: pl.DataFrame, config: EvalSetConfig, regression_texts: list[str], result: Draw) -> None:
        self.groups = {
            key: list(g.select("_i", "request_id", "user_text").iter_rows())
            for key, g in pool.with_row_index("_i").sort("kind_order", "grp", "rank").group_by("kind", "grp", maintain_order=True)}
        self.position = dict.fromkeys(self.groups, 0)
        self.regression = NearDuplicates(config.near_duplicate_jaccard)
        for text in regression_texts:
            self.regression.add(text)
        self.drawn = NearDuplicates(config.near_duplicate_jaccard)
        self.taken: set[str] = set()
        self.chosen: list[int] = []
        self.result = result

    def take(self, key: tuple[str, str], n: int) -> int:
        """Draw up to n more items from group `key`; returns how many it could not find."""
        rows = self.groups.get(key, [])
        while n and self.position.get(key, 0) < len(rows):
            i, request_id, text = rows[self.position[key]]
            self.position[key] += 1
            if request_id in self.taken:
                continue
            if self.regression.seen(text):
                self.result.skipped_regression += 1
                continue
            if self.drawn.seen(text):
                self.result.skipped_near_duplicates += 1
                continue
            self.drawn.add(text)
            self.taken.add(request_id)
            self.chosen.append(i)
            n -= 1
        return n


def draw(pool: pl.DataFrame, config: EvalSetConfig, production_mix: dict[str, float],
         regression_texts: list[str]) -> Draw:
    """Fill the quotas from the ranked pool (columns kind, kind_order, grp, rank, request_id,
    user_text, ...): known failures first, then edge cases, then the head.

    An item is drawn once; near-duplicates of drawn items and of regression cases are skipped.
    Every kind keeps its share of `size` (`kind_quotas`) even when none of its groups has a
    candidate. What a kind cannot fill from its own groups passes on, kind by kind: to its other
    groups (head strata in order of production share), then (failures and edge cases) to the
    head strata in proportion to production and to any head stratum left, then to every group
    that still has candidates. `moved` counts the items each group took for others; what no
    group could fill is the kind's shortfall, so the set has `size` items whenever the pool
    allows.
    """
    available = {(k, g): n for k, g, n in pool.group_by("kind", "grp").len().iter_rows()}
    want = quotas(config, production_mix, available)
    result = Draw(pool.head(0), want)
    walk = _Walk(pool, config, regression_texts, result)
    missing = {}
    for kind, total in kind_quotas(config).items():  # own quotas first, in KINDS order
        keys = sorted(key for key in want if key[0] == kind)
        missing[kind] = total - sum(want[key] for key in keys) + sum(walk.take(key, want[key]) for key in keys)
    by_production = sorted((key for key in walk.groups if key[0] == "head"),
                           key=lambda key: (-production_mix.get(key[1], 0.0), key[1]))
    for kind in KINDS:
        left = missing[kind]
        own = by_production if kind == "head" else sorted(key for key in walk.groups if key[0] == kind)
        left = _round_robin(walk, own, left)
        if left and kind != "head":
            for stratum, n in allocate(left, production_mix).items():
                if n:
                    got = n - walk.take(("head", stratum), n)
                    if got:
                        result.moved[("head", stratum)] = result.moved.get(("head", stratum), 0) + got
                    left -= got
            left = _round_robin(walk, by_production, left)
        others = sorted((key for key in walk.groups if key[0] not in (kind, "head")),
                        key=lambda key: (KINDS.index(key[0]), key[1]))
        left = _round_robin(walk, others, left)
        if left:
            result.shortfall[(kind, "*")] = left
    result.items = (pool.with_row_index("_i").filter(pl.col("_i").is_in(walk.chosen)).drop("_i")
                    .sort("kind_order", "grp", "rank"))
    return result


def _round_robin(walk: _Walk, donors: list[tuple[str, str]], missing: int) -> int:
    """One item at a time from each donor in turn until `missing` are found or all are exhausted."""
    donors = list(donors)
    while missing > 0 and donors:
        for key in list(donors):
            if not missing:
                break
            if walk.take(key, 1):
                donors.remove(key)  # exhausted
            else:
                walk.result.moved[key] = walk.result.moved.get(key, 0) + 1
                missing -= 1
    return missing


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the L1 distance between two distributions over the union of their keys."""
    sp, sq = sum(p.values()) or 1.0, sum(q.values()) or 1.0
    return 0.5 * sum(abs(p.get(k, 0) / sp - q.get(k, 0) / sq) for k in set(p) | set(q))


def version_id(items: pl.DataFrame) -> str:
    """Content hash of an eval set: its items' ids, kinds and texts, in a fixed order."""
    h = hashlib.sha256()
    for row in items.select("item_id", "kind", "grp", "user_text", "response").sort("item_id").iter_rows():
        h.update(json.dumps(row, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def changelog(previous: dict[str, str], current: dict[str, str], in_window: set[str],
              in_regression: set[str]) -> list[tuple[str, str, str]]:
    """(item_id, added|removed, reason) against the parent version; maps item -> its reason."""
    changes = [(i, "added", current[i]) for i in sorted(current.keys() - previous.keys())]
    for i in sorted(previous.keys() - current.keys()):
        reason = ("matches a regression case" if i in in_regression
                  else "not drawn this time" if i in in_window else "outside the lookback window")
        changes.append((i, "removed", reason))
    return changes


def strata_mix(counts: Counter | dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in sorted(counts.items())} if total else {}
