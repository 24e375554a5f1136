"""The configurable resources: where the warehouse is and where the source data is."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from pipeline import warehouse
from pipeline.judge.client import LLMConfigError, LLMSettings
from pipeline.judge.rubric import Rubric, load_rubric
from pipeline.logs import remote
from pipeline.logs.ingest import logs_dir
from pipeline.privacy.anonymize import Anonymizer, MissingSaltError
from pipeline.privacy.ner import NameFinder, presidio_finder


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: the DuckDB file under EVALFUNNEL_HOME (every writer runs in the
    `duckdb_writer` pool), or the DuckLake that EVALFUNNEL_WAREHOUSE names (read from the
    environment of the process that runs the step, never stored in the run's config: a libpq
    string may hold a password)."""

    home: str
    memory_limit: str = "1GB"

    @property
    def path(self) -> Path:
        """The embedded file's path; its folder is the home (judge journals, the report)."""
        return Path(self.home) / warehouse.WAREHOUSE_FILE

    def location(self) -> Path | warehouse.Lake:
        return warehouse.location(Path(self.home))

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.location(), read_only=read_only, memory_limit=self.memory_limit) as con:
            yield con


class SourceResource(dg.ConfigurableResource):
    """The source directory of the input contract (logs/, experiments/, ...)."""

    source_dir: str

    def root(self) -> Path:
        """The source folder; for `s3://...` (gs://, r2://) its mirror in the home, brought up to date."""
        if remote.is_remote(self.source_dir):
            home = Path(os.environ.get("EVALFUNNEL_HOME") or Path.cwd() / ".evalfunnel")
            folder = remote.mirror(self.source_dir, home).root
        else:
            folder = Path(self.source_dir)
        logs_dir(folder)  # fails at once, naming the path, when it is unusable
        return folder


class PiiResource(dg.ConfigurableResource):
    """The pseudonymization key (EVALFUNNEL_PII_SALT). Never logged, never stored."""

    salt: str
    ner_model: str = ""  # a spaCy pipeline for the optional NER name pass (pipeline.privacy.ner)

    def names(self) -> tuple[NameFinder, Anonymizer] | None:
        """The NER name finder with this key's anonymizer, or None when no model is configured."""
        return (presidio_finder(self.ner_model), self.anonymizer()) if self.ner_model.strip() else None

    def anonymizer(self) -> Anonymizer:
        if not self.salt.strip():
            raise MissingSaltError("EVALFUNNEL_PII_SALT is empty: set it to a long random secret")
        return Anonymizer(self.salt.encode())


class JudgeResource(dg.ConfigurableResource):
    """The judge: any litellm model string. Provider keys and bases come from litellm's own
    variables (OPENAI_API_KEY, OPENAI_API_BASE, ...) or the variable `api_key_env` names; the
    default is the local heuristic. `evalfunnel run --judge-model ... --budget-usd ...` (and the
    EVALFUNNEL_JUDGE_* variables) set these fields in each run's config, so the launchpad shows
    them too."""

    model: str = "evalfunnel/heuristic"
    api_base: str = ""
    api_key_env: str = ""  # the environment variable holding the provider's key (its name only: never stored)
    concurrency: int = 16
    requests_per_minute: float = 0.0  # 0: no limit
    tokens_per_minute: float = 0.0
    timeout_s: float = 60.0
    max_retries: int = 6
    max_cost_usd: float = 0.0  # 0: no budget; else the cap for every judging step of the budget scope together
    budget_scope: str = ""  # what the budget covers: a command's id (set by the CLI); empty: this Dagster run
    input_price_per_mtok: float = -1.0  # < 0: litellm's price
    output_price_per_mtok: float = -1.0
    rubric: str = ""  # a rubric YAML file; empty: the packaged rubric-v1
    processes: int = 1  # > 1: a pool of worker processes, for fast providers at high concurrency
    dry_run: bool = False  # estimate calls, tokens and cost of what is not cached yet, and stop

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # the worker pool (about 2 s to start) warms up while the step loads its data
        if self.processes > 1 and not self.dry_run:
            from pipeline.judge.fanout import shared_pool

            shared_pool(self.processes)

    def settings(self) -> LLMSettings:
        api_key = None
        if self.api_key_env:
            api_key = os.environ.get(self.api_key_env, "").strip()
            if not api_key:
                raise LLMConfigError(f"model {self.model}: {self.api_key_env} is not set (api_key_env names it as the "
                                     "variable holding the provider's key)")
        return LLMSettings(
            model=self.model, api_base=self.api_base or None, api_key=api_key, api_key_env=self.api_key_env or None,
            concurrency=self.concurrency,
            requests_per_minute=self.requests_per_minute or None, tokens_per_minute=self.tokens_per_minute or None,
            timeout_s=self.timeout_s, max_retries=self.max_retries,
            input_price_per_mtok=self.input_price_per_mtok if self.input_price_per_mtok >= 0 else None,
            output_price_per_mtok=self.output_price_per_mtok if self.output_price_per_mtok >= 0 else None,
            shared_limits_dsn=warehouse.shared_limits_dsn())

    def scope(self, context) -> str:
        return self.budget_scope or context.run_id

    def budget_left(self, con, context) -> float | None:
        """What the budget leaves for this step: the cap minus what every judging step of the
        budget scope spent before it (judge_spend); None without a budget."""
        if self.max_cost_usd <= 0:
            return None
        [(spent,)] = con.execute(warehouse.statement("judge/spent"), {"scope": self.scope(context)}).fetchall()
        return max(0.0, self.max_cost_usd - spent)

    def record_spend(self, con, context, asset: str, calls: int, cost_usd: float, skipped_budget: int) -> None:
        """One judging step's spend, in judge_spend (its own transaction: kept when a later step fails)."""
        con.execute(warehouse.statement("judge/insert_spend"), {
            "scope": self.scope(context), "run_id": context.run_id, "asset": asset, "model": self.model, "calls": calls,
            "cost_usd": cost_usd, "budget_usd": self.max_cost_usd if self.max_cost_usd > 0 else None,
            "skipped_budget": skipped_budget}).fetchall()

    def load_rubric(self) -> Rubric:
        return load_rubric(self.rubric or None)

    def version(self) -> str:
        """The judge version (model, rubric and prompt template) this resource's scores carry."""
        from pipeline.judge.prompt import TEMPLATE_VERSION
        from pipeline.judge.rubric import judge_version

        return judge_version(self.model, self.load_rubric(), TEMPLATE_VERSION)
