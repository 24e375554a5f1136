"""Candidate responses generated from candidates.yaml, cached like judgments.

candidates.yaml (in the source directory):

    candidates:
      - name: concise-v2
        model: openai/gpt-4o-mini          # any litellm model string
        system_prompt: Answer in at most three sentences.
        temperature: 0.3                   # optional (default 0.7)
        max_tokens: 400                    # optional (default 512)
        api_base: http://host:8000/v1      # optional

Each candidate answers every item of the newest eval set (its conversation without system
turns, behind the candidate's own system prompt). A response is cached by (model, parameters,
messages): reruns and backfills never generate it again. Results are written as they finish, in
small batches, so a killed run keeps what it had.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from pipeline.judge.client import LLMClient, LLMConfigError, LLMSettings
from pipeline.judge.fanout import gather_interruptible
from pipeline.warehouse import statement

# generation_cache's columns as a batch carries them (created_at is set on insert)
_GENERATION_COLUMNS = (("cache_key", pa.string()), ("candidate", pa.string()), ("model", pa.string()),
                       ("response", pa.string()), ("latency_ms", pa.float64()), ("input_tokens", pa.int64()),
                       ("output_tokens", pa.int64()), ("cost_usd", pa.float64()))


@dataclass(frozen=True)
class Candidate:
    name: str
    model: str
    system_prompt: str = ""
    temperature: float = 0.7
    max_tokens: int = 512
    api_base: str | None = None


def load_candidates_yaml(path: Path) -> list[Candidate]:
    """The candidates of a candidates.yaml; raises ValueError naming the file and the entry."""
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    entries = doc.get("candidates") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a `candidates:` list")
    out = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("model"):
            raise ValueError(f"{path}: candidate {n} needs a name and a model")
        unknown = set(entry) - {"name", "model", "system_prompt", "temperature", "max_tokens", "api_base"}
        if unknown:
            raise ValueError(f"{path}: candidate {entry['name']} has unknown fields {', '.join(sorted(unknown))}")
        out.append(Candidate(str(entry["name"]), str(entry["model"]), str(entry.get("system_prompt") or ""),
                             float(entry.get("temperature", 0.7)), int(entry.get("max_tokens", 512)), entry.get("api_base")))
    if len({c.name for c in out}) != len(out):
        raise ValueError(f"{path}: candidate names must be unique")
    return out


def generation_key(candidate: Candidate, messages: list[dict]) -> str:
    payload = [candidate.model, candidate.temperature, candidate.max_tokens, messages]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class GenerationRun:
    generated: int = 0
    cache_hits: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    errors: list[str] = field(default_factory=list)


def generate(con: duckdb.DuckDBPyConnection, candidates: list[Candidate], *, concurrency: int = 16,
             flush_every: int = 20) -> GenerationRun:
    """Responses of every candidate to every item of the newest eval set, into candidate_responses."""
    items = con.execute(statement("judge/latest_eval_items")).fetchall()
    run = GenerationRun()
    rows: list[tuple] = []
    for candidate in candidates:
        prompts = []
        for item_id, messages in items:
            conversation = [m for m in messages if m["role"] != "system"]
            full = ([{"role": "system", "content": candidate.system_prompt}] if candidate.system_prompt else []) + conversation
            prompts.append((item_id, conversation, full, generation_key(candidate, full)))
        cached = dict(con.execute("select cache_key, response from generation_cache where cache_key in (select unnest($k))",
                                  {"k": [p[3] for p in prompts]}).fetchall())
        run.cache_hits += sum(p[3] in cached for p in prompts)
        todo = [p for p in prompts if p[3] not in cached]
        client = LLMClient(LLMSettings(model=candidate.model, api_base=candidate.api_base, concurrency=concurrency,
                                       temperature=candidate.temperature, max_tokens=candidate.max_tokens))
        pending: list[tuple] = []

        def flush() -> None:
            if pending:
                columns = list(zip(*pending))
                con.register("generation_batch", pa.table({name: pa.array(values, type) for (name, type), values in
                                                           zip(_GENERATION_COLUMNS, columns)}))
                try:
                    con.execute(statement("judge/insert_generations")).fetchall()
                finally:
                    con.unregister("generation_batch")
                pending.clear()

        async def one(prompt: tuple) -> None:
            out = await client.complete(prompt[2])
            if out.error is not None:
                run.failed += 1
                run.errors.append(f"{candidate.name} {prompt[0]}: {out.error}")
                return
            pending.append((prompt[3], candidate.name, candidate.model, out.content, out.latency_ms, out.input_tokens,
                            out.output_tokens, out.cost_usd))
            run.generated += 1
            if len(pending) >= flush_every:
                flush()

        async def all_prompts() -> None:
            await gather_interruptible(*(one(p) for p in todo))

        try:
            asyncio.run(all_prompts())
        except LLMConfigError:
            flush()
            raise
        flush()
        run.cost_usd += client.stats.cost_usd
        run.calls += client.stats.calls
        stored = {k: v for k, *v in con.execute(
            "select cache_key, response, latency_ms, cost_usd, input_tokens, output_tokens from generation_cache "
            "where cache_key in (select unnest($k))", {"k": [p[3] for p in prompts]}).fetchall()}
        for item_id, conversation, _, key in prompts:
            if key in stored:
                response, latency, cost, tin, tout = stored[key]
                rows.append((item_id, candidate.name, conversation, response, latency, cost, tin, tout))
    con.execute("delete from candidate_responses where origin = 'generated'")
    if rows:
        con.executemany("insert into candidate_responses values (?, ?, ?, ?, ?, ?, ?, ?, 'generated', now())", rows)
    return run
