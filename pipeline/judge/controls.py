"""The judge's cost and rate controls, from the command line and EVALFUNNEL_JUDGE_* variables.

One table maps each control to the judge resource's field, its variable and its flag, so the
CLI, the definitions (runs the UI or a schedule launches) and the docs agree. The values go
into each run's config (`resources.judge.config`), so the launchpad shows what a run used.
Keys are never among them: `api_key_env` is the *name* of the variable holding one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LOCAL_JUDGE = "evalfunnel/heuristic"


@dataclass(frozen=True)
class Control:
    field: str  # the JudgeResource field
    variable: str  # EVALFUNNEL_JUDGE_*
    flag: str  # on `run` and `backfill`
    kind: type
    help: str


CONTROLS = (
    Control("model", "EVALFUNNEL_JUDGE_MODEL", "--judge-model", str,
            "the judge, any litellm model string (gpt-4o-2024-08-06, anthropic/claude-3-5-sonnet-20241022, "
            "openai/<name> with --judge-api-base for an OpenAI-compatible server); default: the local heuristic judge"),
    Control("api_base", "EVALFUNNEL_JUDGE_API_BASE", "--judge-api-base", str,
            "the provider's base URL (an OpenAI-compatible server); default: the provider's own"),
    Control("api_key_env", "EVALFUNNEL_JUDGE_API_KEY_ENV", "--api-key-env", str,
            "the name of the environment variable that holds the provider's key; default: the provider's usual one "
            "(OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)"),
    Control("concurrency", "EVALFUNNEL_JUDGE_CONCURRENCY", "--concurrency", int, "judge calls in flight at once (16)"),
    Control("requests_per_minute", "EVALFUNNEL_JUDGE_RPM", "--rpm", float,
            "at most this many judge calls a minute (0 or unset: no limit; on a PostgreSQL lake shared by every worker)"),
    Control("tokens_per_minute", "EVALFUNNEL_JUDGE_TPM", "--tpm", float,
            "at most this many tokens a minute (0 or unset: no limit; a call above it waits for a full minute's worth)"),
    Control("max_cost_usd", "EVALFUNNEL_JUDGE_BUDGET_USD", "--budget-usd", float,
            "stop judging before the whole command's judge calls cost more than this many US dollars (items left "
            "unjudged are not cached: a rerun with a higher budget continues with them)"),
    Control("input_price_per_mtok", "EVALFUNNEL_JUDGE_PRICE_INPUT", "--price-input", float,
            "USD per million input tokens, for a model litellm has no price for"),
    Control("output_price_per_mtok", "EVALFUNNEL_JUDGE_PRICE_OUTPUT", "--price-output", float,
            "USD per million output tokens, for a model litellm has no price for"),
    Control("dry_run", "EVALFUNNEL_JUDGE_DRY_RUN", "--dry-run", bool,
            "run up to the first judging stage, print what judging would cost (calls, tokens, USD, cache hits), "
            "call nothing, and stop with exit 0"),
)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class ControlError(ValueError):
    """A control with a value it cannot take; the message names the flag or variable."""


def _parse(control: Control, raw, source: str):
    if control.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ControlError(f"{source}={raw!r}: say 1 or 0 (true or false)")
    if control.kind is str:
        return str(raw).strip()
    whole = control.kind is int
    try:
        if "_" in str(raw):  # Python reads 1_0 as 10; a person meant something else
            raise ValueError(raw)
        value = control.kind(str(raw).strip()) if isinstance(raw, str) else control.kind(raw)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"{source}={raw!r}: not a {'whole ' if whole else ''}number") from exc
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ControlError(f"{source}={raw!r}: must be a finite number, 0 or more")
    if control.field == "concurrency" and value < 1:
        raise ControlError(f"{source}={raw!r}: at least 1 call must be allowed in flight")
    if control.field == "max_cost_usd" and value == 0:
        raise ControlError(f"{source}={raw!r}: a budget must be more than 0 (leave it out for no budget; "
                           "--dry-run calls nothing)")
    return value


def judge_config(environ: Mapping[str, str], flags: Mapping[str, object] | None = None) -> dict[str, object]:
    """The judge resource's config from the variables, each overridden by its flag when given
    (flags: field -> value, None for not given). Only what was set is returned."""
    config: dict[str, object] = {}
    for control in CONTROLS:
        given = (flags or {}).get(control.field)
        if given is not None and given is not False:  # the flag wins: the variable is not even read
            config[control.field] = _parse(control, given, control.flag)
            continue
        raw = environ.get(control.variable)
        if raw is not None and raw.strip() != "":
            config[control.field] = _parse(control, raw, control.variable)
    if not config.get("model"):
        config.pop("model", None)
    return config
