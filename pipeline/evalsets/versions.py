"""Build one quarter's eval set in the warehouse, and load the regression set.

The eval set for quarter partition [start, end) is drawn from the `lookback_days` of clean_logs
before `end` (`pipeline.evalsets.sampling`), stored in `eval_set` with its version in
`eval_set_versions` and its changelog against the parent version in `eval_set_changes`.
Rebuilding with the same data and config gives the same version and writes nothing new.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.evalsets import regression, sampling
from pipeline.privacy.anonymize import Anonymizer, scan_for_residue
from pipeline.privacy.ner import NameFinder, scrub_names
from pipeline.warehouse import retrying, statement


@dataclass(frozen=True)
class BuildResult:
    quarter: date
    version_id: str
    parent_version: str | None
    new_version: bool
    items: int
    counts: dict[str, int]  # "kind:group" -> items
    production_mix: dict[str, float]
    eval_mix: dict[str, float]  # head items per stratum
    shortfall: dict[str, int]
    moved: dict[str, int]
    changes: Counter  # added / removed
    skipped_near_duplicates: int
    skipped_regression: int
    ner_names_replaced: int | None  # None: no NER backend configured


def _key(kind: str, grp: str) -> str:
    return f"{kind}:{grp}"


def scrub_item_names(items: pl.DataFrame, find: NameFinder, anonymizer: Anonymizer) -> tuple[pl.DataFrame, int]:
    """Run the NER name pass over every text of the drawn items (a few hundred rows)."""
    total = 0

    def scrub(text: str | None) -> str | None:
        nonlocal total
        if text is None:
            return None
        out, n = scrub_names(text, find, anonymizer)
        total += n
        return out

    rows = items.to_dicts()
    for row in rows:
        row["messages"] = [{"role": m["role"], "content": scrub(m["content"])} for m in row["messages"]]
        for column in ("query", "user_text", "response"):
            row[column] = scrub(row[column])
    return pl.DataFrame(rows, schema=items.schema), total


def build_eval_set(con: duckdb.DuckDBPyConnection, quarter: date, end: date, config: sampling.EvalSetConfig,
                   names: tuple[NameFinder, Anonymizer] | None = None) -> BuildResult:
    """Draw, version and store the eval set of the quarter partition starting at `quarter`.

    `names`: an NER name finder and the anonymizer whose placeholders it uses (pipeline.privacy.ner),
    applied to every text that enters the set; None when no NER backend is configured.
    """
    window = {"start": end - timedelta(days=config.lookback_days), "end": end, "strata": list(config.strata)}
    production = dict(con.execute(statement("evalsets/production_mix"), window).fetchall())
    production_mix = sampling.strata_mix(production)
    pool = pl.from_arrow(con.execute(statement("evalsets/candidate_pool"), {
        **window, "seed": str(config.seed), "pool_per_group": config.pool_per_group,
        "heavy_edit_ratio": config.heavy_edit_ratio, "long_input_chars": config.long_input_chars}).to_arrow_table())
    regression_queries = [r[0] for r in con.execute(statement("evalsets/regression_queries")).fetchall()]
    drawn = sampling.draw(pool, config, production_mix, regression_queries)
    items = drawn.items.rename({"request_id": "item_id"})
    names_replaced = 0
    if names is not None:
        items, names_replaced = scrub_item_names(items, *names)
    vid = sampling.version_id(items)
    counts = {_key(k, g): n for k, g, n in items.group_by("kind", "grp").len().sort("kind", "grp").iter_rows()}
    eval_mix = sampling.strata_mix(Counter({g: n for k, g, n in items.group_by("kind", "grp").len().iter_rows() if k == "head"}))

    parent = con.execute(statement("evalsets/latest_version"), {"exclude": vid}).fetchone()
    parent_id = parent[0] if parent else None
    exists = con.execute("select count(*) from eval_set_versions where version_id = $v", {"v": vid}).fetchone()[0] > 0
    reasons = {i: _key(k, g) for i, k, g in items.select("item_id", "kind", "grp").iter_rows()}
    changes: list[tuple[str, str, str]] = []
    if not exists:
        previous = dict(con.execute(statement("evalsets/version_items"), {"v": parent_id}).fetchall()) if parent_id else {}
        in_window = set(pool.get_column("request_id").to_list())
        regression_norms = {sampling.normalize(r) for r in regression_queries}
        in_regression = {i for i, q in con.execute(statement("evalsets/version_queries"), {"v": parent_id}).fetchall()
                         if sampling.normalize(q) in regression_norms} if parent_id else set()
        changes = sampling.changelog(previous, reasons, in_window, in_regression)

    def write() -> None:
        con.execute(statement("evalsets/delete_quarter"), {"quarter": quarter})
        con.register("drawn_items", items.with_columns(pl.lit(vid).alias("version_id"), pl.lit(quarter).alias("quarter")).to_arrow())
        con.execute(statement("evalsets/insert_items"))
        con.unregister("drawn_items")
        if not exists:
            con.execute(statement("evalsets/insert_version"), {
                "version_id": vid, "quarter": quarter, "parent": parent_id, "n_items": items.height,
                "counts": json.dumps(counts), "production_mix": json.dumps(production_mix),
                "config": json.dumps(config.__dict__, default=list),
                "shortfall": json.dumps({_key(*k): n for k, n in drawn.shortfall.items()})})
            if changes:
                con.executemany("insert into eval_set_changes values (?, ?, ?, ?)", [(vid, *c) for c in changes])

    retrying(con, write, f"eval_set {quarter}")
    return BuildResult(quarter, vid, parent_id, not exists, items.height, counts, production_mix, eval_mix,
                       {_key(*k): n for k, n in drawn.shortfall.items()}, {_key(*k): n for k, n in drawn.moved.items()},
                       Counter(c[1] for c in changes),
                       drawn.skipped_near_duplicates, drawn.skipped_regression, names_replaced if names else None)


@dataclass(frozen=True)
class DriftReport:
    tvd: float
    eval_mix: dict[str, float]
    production_mix: dict[str, float]
    production_window: tuple[date, date]


def eval_set_drift(con: duckdb.DuckDBPyConnection, quarter: date, strata: tuple[str, ...], recent_days: int = 30) -> DriftReport:
    """Distance between the quarter's eval-set head mix and the latest `recent_days` of production."""
    eval_counts = dict(con.execute(statement("evalsets/head_mix"), {"quarter": quarter}).fetchall())
    last = con.execute("select max(log_date) from clean_logs").fetchone()[0]
    end = last + timedelta(days=1)
    start = end - timedelta(days=recent_days)
    production = dict(con.execute(statement("evalsets/production_mix"),
                                  {"start": start, "end": end, "strata": list(strata)}).fetchall())
    eval_mix, production_mix = sampling.strata_mix(eval_counts), sampling.strata_mix(production)
    return DriftReport(sampling.total_variation(eval_mix, production_mix), eval_mix, production_mix, (start, end))


def eval_set_residue(con: duckdb.DuckDBPyConnection, quarter: date) -> tuple[int, Counter]:
    """Texts scanned and PII found in a quarter's eval set, by the independent detector."""
    texts = [r[0] for r in con.execute(statement("evalsets/eval_texts"), {"quarter": quarter}).fetchall()]
    return len(texts), scan_for_residue(texts)


@dataclass(frozen=True)
class RegressionLoad:
    cases: int
    rejects: list[tuple[int, str]]
    changes: list[tuple[str, str, str | None, str]]


def load_regression_set(con: duckdb.DuckDBPyConnection, path: Path) -> RegressionLoad:
    """Replace the regression_set table from the file; record every added, changed or removed case."""
    loaded = regression.load_cases(path)
    rows = [{"case_id": c.case_id, "case_hash": c.case_hash, "messages": c.messages, "query": c.query,
             "expected_behavior": c.expected_behavior, "must_contain": c.must_contain,
             "must_not_contain": c.must_not_contain, "regex": c.regex,
             "json_schema": json.dumps(c.json_schema) if c.json_schema is not None else None,
             "reason": c.reason, "added_at": c.added_at, "source": c.source} for c in loaded.cases]
    frame = pl.DataFrame(rows, schema={
        "case_id": pl.String, "case_hash": pl.String, "messages": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
        "query": pl.String, "expected_behavior": pl.String, "must_contain": pl.List(pl.String),
        "must_not_contain": pl.List(pl.String), "regex": pl.String, "json_schema": pl.String, "reason": pl.String,
        "added_at": pl.String, "source": pl.String})

    def write() -> list[tuple]:
        # the changes are read inside the transaction: a retry after another writer's commit sees its cases
        previous = dict(con.execute("select case_id, case_hash from regression_set").fetchall())
        changes = regression.case_changes(previous, loaded.cases)
        con.execute("delete from regression_set")
        con.register("loaded_cases", frame.to_arrow())
        con.execute(statement("evalsets/insert_regression_cases"))
        con.unregister("loaded_cases")
        if changes:
            con.executemany("insert into regression_set_history values (?, ?, ?, ?, now())", changes)
        return changes

    changes = retrying(con, write, "regression_set")
    return RegressionLoad(len(loaded.cases), loaded.rejects, changes)
