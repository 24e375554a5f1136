"""Judge many items concurrently: parse, repair once, account, flush in batches, stop on budget.

`judge_all` runs `concurrency` workers over a queue of tasks. Each task is one model call (plus
at most one repair call when the answer breaks the format). Every task ends as exactly one
result: ok, parse_failed (raw text kept), failed (with the reason), or skipped_budget (the
budget ran out before it started). Results are handed to `on_batch` every `batch_size` results
and at the end, so a caller can persist them as they finish.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.judge.cache import JudgeCache
from pipeline.judge.client import Completion, LLMClient
from pipeline.judge.prompt import (
    InvalidVerdict,
    Verdict,
    parse_pairwise,
    parse_pointwise,
    repair_messages,
)
from pipeline.judge.rubric import Rubric
from pipeline.judge.tasks import JudgeResult, JudgeTask, task_key  # noqa: F401  (re-exported)


@dataclass
class RunSummary:
    tasks: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    repaired: int = 0
    seconds: float = 0.0
    cost_usd: float = 0.0
    calls: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Estimate:
    tasks: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    price_known: bool = True  # False: no configured price and litellm knows none (cost_usd is 0, not free)
    cached: int = 0  # the tasks' results already in the cache (free), beside the `tasks` to call
    repeated: int = 0  # tasks asking a prompt another task asks too: judged once (free)


def _tokens(text: str) -> int:
    """About how many tokens `text` makes: 4 ASCII characters a token, about one per other
    character (emoji and CJK run near one token each: counting them / 4 underestimated 4.7x)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return ascii_chars // 4 + (len(text) - ascii_chars)


def estimate(tasks: list[JudgeTask], client: LLMClient) -> Estimate:
    """What judging `tasks` would cost, before spending: tokens as `_tokens` counts them, the
    model's price (configured, litellm's, free for the local judge); repairs not included."""
    s = client.settings
    tokens_in = sum(sum(_tokens(m["content"]) for m in t.messages) for t in tasks)
    tokens_out = len(tasks) * min(s.max_tokens, 120)
    prices = client.unit_prices()  # configured, litellm's, (0, 0) for the local judge; None: unknown
    if prices is None:
        return Estimate(len(tasks), tokens_in, tokens_out, 0.0, price_known=False)
    return Estimate(len(tasks), tokens_in, tokens_out, tokens_in * prices[0] + tokens_out * prices[1])


@dataclass
class StepSpend:
    """What one judging step may spend and has spent, over every fan-out it runs (a month's
    drift re-scoring, each variant's scores, ...): `judge_with_cache` caps each fan-out at what
    is left, announces each estimate and adds up calls, cost and the items a budget skipped.
    Set for a step with `spending(...)` (pipeline/judge/budget.py); a context variable, so the
    scoring functions need no parameter for it."""

    budget_usd: float | None = None  # None: no cap
    dry_run: bool = False
    announce: Callable[[Estimate], None] | None = None
    calls: int = 0
    cost_usd: float = 0.0
    skipped_budget: int = 0
    estimates: list[Estimate] = field(default_factory=list)

    def left(self) -> float | None:
        return None if self.budget_usd is None else max(0.0, self.budget_usd - self.cost_usd)


CURRENT_STEP: contextvars.ContextVar[StepSpend | None] = contextvars.ContextVar("evalfunnel_judge_step", default=None)


def _parse(task: JudgeTask, raw: str, rubric: Rubric) -> Verdict:
    return parse_pointwise(raw, rubric) if task.kind == "pointwise" else parse_pairwise(raw)


async def judge_one(task: JudgeTask, client: LLMClient, rubric: Rubric) -> tuple[JudgeResult, bool]:
    """One task: call, parse, and one repair when the format is broken. Returns (result, repaired)."""
    first: Completion = await client.complete(task.messages)
    calls = [first]
    if first.error is not None:
        return _result(task, "failed", None, None, first.error, calls), False
    try:
        return _result(task, "ok", _parse(task, first.content, rubric), first.content, None, calls), False
    except InvalidVerdict as problem:
        second = await client.complete(repair_messages(task.messages, first.content, str(problem)))
        calls.append(second)
        if second.error is not None:
            return _result(task, "parse_failed", None, first.content, f"{problem}; repair call failed: {second.error}", calls), True
        try:
            return _result(task, "ok", _parse(task, second.content, rubric), second.content, None, calls), True
        except InvalidVerdict as again:
            return _result(task, "parse_failed", None, second.content, f"{problem}; after repair: {again}", calls), True


def _result(task: JudgeTask, status: str, verdict: Verdict | None, raw: str | None, error: str | None,
            calls: list[Completion]) -> JudgeResult:
    return JudgeResult(task, status, verdict, raw, error, sum(c.attempts for c in calls), sum(c.latency_ms for c in calls),
                       sum(c.input_tokens for c in calls), sum(c.output_tokens for c in calls), sum(c.cost_usd for c in calls))


async def gather_interruptible(*aws) -> list:
    """`asyncio.gather`, stopped at once when an interruption lands in one of the loop's callbacks.

    A stop request (Ctrl-C, or SIGTERM, which Dagster raises as its own BaseException) arrives
    at whatever code is running. In a callback, asyncio would log it and go on calling the
    model; here the gather is cancelled instead and the interruption re-raised."""
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    caught: list[BaseException] = []

    def on_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if error is not None and not isinstance(error, Exception):
            caught.append(error)
            main.cancel()
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(on_error)
    try:
        return await asyncio.gather(*aws)
    except asyncio.CancelledError:
        if caught:
            raise caught[0] from None
        raise


async def judge_all(tasks: list[JudgeTask], client: LLMClient, rubric: Rubric,
                    on_batch: Callable[[list[JudgeResult]], None], *, batch_size: int = 50,
                    max_cost_usd: float | None = None,
                    progress: Callable[..., None] | None = None) -> RunSummary:
    """Judge every task (see the module docstring); returns counts, cost and time."""
    t0 = time.perf_counter()
    summary = RunSummary(tasks=len(tasks))
    queue: asyncio.Queue[JudgeTask] = asyncio.Queue()
    for task in tasks:
        queue.put_nowait(task)
    buffer: list[JudgeResult] = []
    done = 0

    def record(result: JudgeResult, repaired: bool) -> None:
        nonlocal done
        done += 1
        summary.by_status[result.status] = summary.by_status.get(result.status, 0) + 1
        summary.repaired += int(repaired)
        buffer.append(result)
        if len(buffer) >= batch_size:
            on_batch(buffer.copy())
            buffer.clear()
        if progress:
            progress(done, len(tasks), summary.by_status.get("ok", 0), client.stats.cost_usd)

    reserved = 0.0  # the worst case of the calls in flight: spent + reserved never passes the budget
    released = asyncio.Condition()

    async def afford(need: float) -> bool:
        """Reserve `need` once it fits beside the calls in flight; False when it never will."""
        nonlocal reserved
        async with released:
            while client.stats.cost_usd + reserved + need > max_cost_usd:
                if reserved == 0 or client.stats.cost_usd + need > max_cost_usd:
                    return False  # even with nothing in flight it would pass the cap
                await released.wait()
            reserved += need
            return True

    async def release(need: float) -> None:
        nonlocal reserved
        async with released:
            reserved -= need
            released.notify_all()

    async def worker() -> None:
        while True:
            try:
                task = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            need = client.worst_case_cost(task.messages) if max_cost_usd is not None else 0.0
            if max_cost_usd is not None and not await afford(need):
                record(JudgeResult(task, "skipped_budget", None, None, f"max_cost_usd {max_cost_usd} reached",
                                   0, 0.0, 0, 0, 0.0), False)
                continue
            try:
                result, repaired = await judge_one(task, client, rubric)
            finally:
                if max_cost_usd is not None:
                    await release(need)
            record(result, repaired)

    # A full collection walks every object litellm and the rest of the process hold (~100 ms,
    # every loop stalled meanwhile) and fires every few hundred calls: what exists now is frozen
    # out of the collector for the fan-out (measured: efficiency 0.81 -> 0.87 in bench/judge_fanout.py).
    gc.collect()
    gc.freeze()
    try:
        # one worker per call in flight, never more than there are tasks (a huge --concurrency made millions)
        await gather_interruptible(*(worker() for _ in range(max(1, min(client.settings.concurrency, len(tasks))))))
    finally:
        gc.unfreeze()
        if buffer:  # what finished is handed over even when the run is interrupted
            on_batch(buffer.copy())
            buffer.clear()
    summary.seconds = time.perf_counter() - t0
    summary.cost_usd = client.stats.cost_usd
    summary.calls = client.stats.calls
    summary.retries = client.stats.retries
    return summary


def _pool_worker(index: int, jobs, out) -> None:
    """A pool process: warm litellm up once, then judge each shard it is given on a fresh event
    loop and stream result batches to `out`, until it receives None. Results travel without
    their task (the parent holds it): (position in the shard, result with task None)."""
    from pipeline.judge.client import litellm as configured_litellm

    litellm = configured_litellm()

    try:  # imports and litellm's lazy set-up happen here, before any shard waits on them
        asyncio.run(litellm.acompletion(model="openai/warm-up", messages=[{"role": "user", "content": "-"}],
                                        mock_response="{}"))
    except Exception:  # noqa: BLE001  (warming is an optimisation; the first real call does it otherwise)
        pass
    out.put((index, "ready", None))
    while (job := jobs.get()) is not None:
        tasks, settings, rubric, batch_size, max_cost_usd = job
        position = {id(task): i for i, task in enumerate(tasks)}

        def send(batch: list[JudgeResult]) -> None:
            out.put((index, "batch", [(position[id(r.task)], dataclasses.replace(r, task=None)) for r in batch]))

        try:
            summary = asyncio.run(judge_all(tasks, LLMClient(settings), rubric, send, batch_size=batch_size,
                                            max_cost_usd=max_cost_usd))
            out.put((index, "done", summary))
        except BaseException as exc:  # noqa: BLE001  (reported to the parent, which raises it)
            out.put((index, "error", f"{type(exc).__name__}: {exc}"))


class JudgePool:
    """Worker processes for `judge_all`, each with its own event loop and litellm.

    Python spends about 2 ms of CPU per litellm call, so one event loop tops out near 400 calls/s
    and queues before that: a fast provider at high concurrency needs more than one core. A pool
    costs about 2 s to start (interpreter, imports, litellm's first-call set-up), so it is started
    early (`shared_pool`) and reused by every fan-out of the process."""

    def __init__(self, processes: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # never fork a process that holds DuckDB or Dagster threads
        self.processes = processes
        self.jobs = [ctx.Queue() for _ in range(processes)]
        self.out = ctx.Queue()
        self.started = time.perf_counter()
        self.workers = [ctx.Process(target=_pool_worker, args=(i, jobs, self.out), daemon=True)
                        for i, jobs in enumerate(self.jobs)]
        for w in self.workers:
            w.start()
        self.ready = 0
        self.startup_s: float | None = None

    def wait_ready(self) -> float:
        """Block until every worker is warm; returns the seconds the pool took to start."""
        while self.ready < self.processes:
            _, kind, _ = self.out.get()
            assert kind == "ready", kind
            self.ready += 1
        if self.startup_s is None:
            self.startup_s = time.perf_counter() - self.started
        return self.startup_s

    def run(self, tasks: list[JudgeTask], settings, rubric: Rubric, on_batch: Callable[[list[JudgeResult]], None], *,
            batch_size: int = 50, max_cost_usd: float | None = None,
            progress: Callable[..., None] | None = None) -> RunSummary:
        """`judge_all` over the pool: a shard of the tasks, the concurrency and the budget each.
        Results reach `on_batch` in this process as they come."""
        t0 = time.perf_counter()
        shard_settings = dataclasses.replace(settings, concurrency=max(1, settings.concurrency // self.processes))
        shard_budget = max_cost_usd / self.processes if max_cost_usd is not None else None
        shards = [tasks[i::self.processes] for i in range(self.processes)]
        for shard, jobs in zip(shards, self.jobs):
            jobs.put((shard, shard_settings, rubric, batch_size, shard_budget))
        total = RunSummary(tasks=len(tasks))
        finished, done, ok, error, spent = 0, 0, 0, None, 0.0
        while finished < self.processes:
            worker, kind, payload = self.out.get()
            if kind == "ready":
                self.ready += 1
            elif kind == "batch":
                payload = [dataclasses.replace(r, task=shards[worker][i]) for i, r in payload]
                on_batch(payload)
                done += len(payload)
                ok += sum(r.status == "ok" for r in payload)
                spent += sum(r.cost_usd or 0.0 for r in payload)
                if progress:
                    progress(done, len(tasks), ok, spent)
            else:
                finished += 1
                if kind == "error":
                    error = error or payload
                else:
                    for status, n in payload.by_status.items():
                        total.by_status[status] = total.by_status.get(status, 0) + n
                    total.repaired += payload.repaired
                    total.cost_usd += payload.cost_usd
                    total.calls += payload.calls
                    total.retries += payload.retries
        if error:
            raise RuntimeError(f"a judging worker failed: {error}")
        total.seconds = time.perf_counter() - t0
        return total

    def close(self) -> None:
        for jobs in self.jobs:
            jobs.put(None)
        for w in self.workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()


_POOLS: dict[int, JudgePool] = {}


def shared_pool(processes: int) -> JudgePool | None:
    """This process's pool of `processes` workers, started on first use and closed at exit;
    None for a single process. Call it early to have the pool warm by the first fan-out."""
    if processes <= 1:
        return None
    if processes not in _POOLS:
        import atexit

        _POOLS[processes] = JudgePool(processes)
        atexit.register(_POOLS[processes].close)
    return _POOLS[processes]


def judge_all_processes(tasks: list[JudgeTask], settings, rubric: Rubric, on_batch: Callable[[list[JudgeResult]], None],
                        *, processes: int, batch_size: int = 50, max_cost_usd: float | None = None,
                        progress: Callable[..., None] | None = None) -> RunSummary:
    """`judge_all` on this process's event loop, or over the shared pool of `processes` workers."""
    if processes <= 1 or len(tasks) < 2 * processes:
        return asyncio.run(judge_all(tasks, LLMClient(settings), rubric, on_batch, batch_size=batch_size,
                                     max_cost_usd=max_cost_usd, progress=progress))
    return shared_pool(processes).run(tasks, settings, rubric, on_batch, batch_size=batch_size,
                                      max_cost_usd=max_cost_usd, progress=progress)


@dataclass
class CachedRun:
    results: list[JudgeResult]  # one per task: cached or new (cached only, on a dry run)
    cache_hits: int
    recovered: int  # results a killed run had journaled, recovered before starting
    summary: RunSummary
    estimate: Estimate | None = None  # what the uncached tasks were expected to cost, before spending
    dry_run: bool = False


def judge_with_cache(con, tasks: list[JudgeTask], settings, rubric: Rubric, judge_version: str, journal,
                     *, max_cost_usd: float | None = None, processes: int = 1, dry_run: bool = False,
                     progress: Callable[..., None] | None = None,
                     announce: Callable[[Estimate], None] | None = None) -> CachedRun:
    """Judge what the cache does not hold yet; every new result is journaled as it finishes.

    The estimate of the uncached part is handed to `announce` before any call; `dry_run` stops
    there (cached results are still returned)."""

    step = CURRENT_STEP.get()
    if step is not None:
        dry_run = dry_run or step.dry_run
        left = step.left()
        max_cost_usd = left if max_cost_usd is None else (max_cost_usd if left is None else min(max_cost_usd, left))
    with JudgeCache(con, journal, judge_version) as cache:
        cached = cache.lookup(tasks)
        # the same prompt asked for twice (identical responses of two variants) is judged once
        todo = list({t.key: t for t in tasks if t.key not in cached}.values())
        new: list[JudgeResult] = []
        hits = sum(t.key in cached for t in tasks)
        expected = dataclasses.replace(estimate(todo, LLMClient(settings)), cached=hits,
                                       repeated=len(tasks) - hits - len(todo))
        if announce:
            announce(expected)
        if step is not None:
            step.estimates.append(expected)
            if step.announce and todo:
                step.announce(expected)
        if dry_run:
            todo = []

        def keep(batch: list[JudgeResult]) -> None:
            cache.add(batch)
            new.extend(batch)

        summary = judge_all_processes(todo, settings, rubric, keep, processes=processes, batch_size=1,
                                      max_cost_usd=max_cost_usd, progress=progress) if todo else RunSummary()
    if step is not None:
        step.calls += summary.calls
        step.cost_usd += summary.cost_usd
        step.skipped_budget += summary.by_status.get("skipped_budget", 0)
    by_key = {**cached, **{r.task.key: r for r in new}}
    # a shared verdict belongs to every task that asked it, each with its own metadata
    results = [dataclasses.replace(by_key[t.key], task=t) for t in tasks if t.key in by_key]
    return CachedRun(results, sum(t.key in cached for t in tasks), cache.recovered, summary, expected, dry_run)
