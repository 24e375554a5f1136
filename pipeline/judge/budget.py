"""A judging step's share of the run's budget, its estimate on the console, its spend recorded.

The budget (`--budget-usd`, EVALFUNNEL_JUDGE_BUDGET_USD, the judge resource's max_cost_usd)
covers every judging step of one budget scope together: one `evalfunnel run` or `backfill`
command (the CLI gives each its id), else one Dagster run. Each step starts with what the steps
before it left (judge_spend holds what each spent), every call reserves its worst case before
it starts (pipeline/judge/fanout.py), and what a step could not afford is skipped, not cached:
a rerun with a higher budget judges exactly those items.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import duckdb

from pipeline.judge.fanout import CURRENT_STEP, Estimate, StepSpend


def console(line: str) -> None:
    """A line for the person running the pipeline: on stderr (the CLI runs steps in its own
    process; a run launched from the UI keeps it in the step's captured output)."""
    print(f"evalfunnel: {line}", file=sys.stderr, flush=True)


def estimate_line(estimate: Estimate, model: str, *, dry_run: bool = False, budget_left: float | None = None,
                  what: str = "judging") -> str:
    """What a fan-out is about to spend, said before its first call."""
    cost = (f"about ${estimate.cost_usd:.4f}" if estimate.price_known
            else f"cost unknown (no price for {model}: give --price-input and --price-output, USD per million tokens)")
    free = f"{estimate.cached:,} cached" + (f", {estimate.repeated:,} repeating another's prompt" if estimate.repeated else "")
    line = (f"{what}: {estimate.tasks:,} item(s) to judge with {model} ({free}: free): about "
            f"{estimate.input_tokens:,} input and {estimate.output_tokens:,} output tokens, {cost}")
    if budget_left is not None:
        line += f"; budget left ${budget_left:.4f}"
    return line + (" (dry run: nothing is called)" if dry_run else "")


@contextlib.contextmanager
def spending(context, judge, con, asset: str) -> Iterator[StepSpend]:
    """Run a judging step's fan-outs within the budget's remainder; record what they spent. A
    budget for a model without a known price cannot be kept: the step stops before any call
    (the CLI says so before the run starts; this holds for runs launched from the UI too)."""
    left = judge.budget_left(con, context)
    if left is not None and not judge.dry_run:
        from pipeline.judge.client import LLMClient, LLMConfigError

        if LLMClient(judge.settings()).unit_prices() is None:
            raise LLMConfigError(f"no price is known for {judge.model}, so the judge budget (${judge.max_cost_usd:g}) "
                                 "cannot be kept: set input_price_per_mtok and output_price_per_mtok (or "
                                 "EVALFUNNEL_JUDGE_PRICE_INPUT/_OUTPUT)")

    def announce(estimate: Estimate) -> None:
        line = estimate_line(estimate, judge.model, dry_run=judge.dry_run, budget_left=step.left(), what=asset)
        context.log.info(line)
        console(line)

    step = StepSpend(budget_usd=left, dry_run=judge.dry_run, announce=announce)
    token = CURRENT_STEP.set(step)
    try:
        yield step
    finally:
        CURRENT_STEP.reset(token)
        if not judge.dry_run:
            try:
                judge.record_spend(con, context, asset, step.calls, step.cost_usd, step.skipped_budget)
            except duckdb.Error as exc:  # never hide the step's own error behind the ledger's
                context.log.warning(f"could not record the judge spend of {asset} (${step.cost_usd:.4f}): {exc}")
        if step.skipped_budget:  # a warning: `evalfunnel run` prints it with the step's name
            context.log.warning(f"the judge budget (${judge.max_cost_usd:g} for the command) is spent: "
                                f"{step.skipped_budget:,} item(s) not judged (${step.cost_usd:.4f} spent in this step); "
                                "they are not cached, so a rerun with a higher --budget-usd judges exactly those")
