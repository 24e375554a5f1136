"""Every model call goes through here: litellm (async), bounded, rate limited, retried, priced.

- Concurrency is bounded by a semaphore; requests and tokens per minute by token buckets.
- Retryable errors (429, 5xx, timeouts, connection errors) back off exponentially with jitter,
  and never sooner than the server's Retry-After.
- Permanent errors (bad key, unknown model, bad request) are not retried. A bad key or an
  unknown model fails the whole run at once (LLMConfigError), with a message naming the model.
- Cost is litellm's price for known models, else the configured price per million tokens.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from pipeline.judge import heuristic as heuristic_judge

if TYPE_CHECKING:
    import litellm as litellm_module


@cache
def litellm() -> litellm_module:
    """litellm, imported and configured on first use: the import takes seconds, and every process
    Dagster starts (each step of a run launched from the UI or a schedule) imports the code
    location whether or not it calls a model."""
    import litellm as module

    module.suppress_debug_info = True
    # prompts are never copied into litellm's logging callbacks: judged text stays in the warehouse
    module.turn_off_message_logging = True
    heuristic_judge.register(module)
    return module


_CALLBACK_LISTS = ("callbacks", "input_callback", "success_callback", "failure_callback", "service_callback",
                   "_async_input_callback", "_async_success_callback", "_async_failure_callback")


def logging_callbacks_configured() -> bool:
    """Whether any litellm logging callback could receive a prompt. Redaction deep-copies every
    call's logging payload (about 1 ms of CPU per call), so it runs only when there is a
    destination to redact for; with none, nothing leaves the process either way."""
    return any(getattr(litellm(), name, None) for name in _CALLBACK_LISTS)


@cache
def retryable() -> tuple[type[Exception], ...]:
    lt = litellm()
    return (lt.RateLimitError, lt.InternalServerError, lt.ServiceUnavailableError, lt.Timeout, lt.APIConnectionError,
            lt.BadGatewayError)


@cache
def fatal() -> tuple[type[Exception], ...]:
    lt = litellm()
    return lt.AuthenticationError, lt.PermissionDeniedError, lt.NotFoundError


_MISSING_KEY = re.compile(r"(?i)missing credentials|api[_ ]key (must be set|is missing|not (set|found|provided))")


class LLMConfigError(RuntimeError):
    """A problem no retry can fix (bad key, unknown model): stop the run and say so."""


@dataclass(frozen=True)
class LLMSettings:
    model: str
    api_base: str | None = None
    api_key: str | None = None  # None: litellm reads the provider's own variable (OPENAI_API_KEY, ...)
    api_key_env: str | None = None  # the variable api_key was read from (named in errors, never logged)
    concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout_s: float = 60.0
    max_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    input_price_per_mtok: float | None = None  # for models litellm does not know
    output_price_per_mtok: float | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    # a libpq connection string: requests and tokens per minute are shared, through that
    # PostgreSQL server, by every process judging with this model (pipeline/judge/shared_limits.py)
    shared_limits_dsn: str | None = None


@dataclass(frozen=True)
class Completion:
    content: str | None
    error: str | None
    attempts: int
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass
class CallStats:
    calls: int = 0  # requests sent, retries included
    retries: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    by_error: dict[str, int] = field(default_factory=dict)


class TokenBucket:
    """Up to `per_minute` units per minute, refilled continuously; `acquire` waits for room."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self.level = per_minute
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def acquire(self, amount: float) -> None:
        # an amount above the capacity waits for a full bucket and leaves it in debt: the rate
        # holds over time (clamping it to the capacity let a 700-token call through a 100/min limit)
        needed = min(amount, self.capacity)
        async with self.lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
                self.updated = now
                if self.level >= needed:
                    self.level -= amount
                    return
                await asyncio.sleep((needed - self.level) / self.rate)


def retry_after_seconds(exc: Exception) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_PRICED_BY_US: set[str] = set()  # models litellm had no price for, registered by _register_price


def _register_price(settings: LLMSettings) -> bool:
    """Give litellm a price for a model it does not know (the configured one, else 0) so it
    prices every response on its fast path; an unknown model otherwise costs ~0.5 ms of CPU per
    call in litellm's failing price lookup. Returns whether litellm knew the model's price."""
    if settings.model.startswith(heuristic_judge.PROVIDER + "/"):
        return True
    if settings.model in _PRICED_BY_US:
        known = False  # litellm knows it now, at the price registered below: still not a real price
    else:
        try:
            litellm().get_model_info(settings.model)
            known = True
        except Exception:  # noqa: BLE001  (litellm raises a generic exception for unknown models)
            known = False
            _PRICED_BY_US.add(settings.model)
    if not known or settings.input_price_per_mtok is not None or settings.output_price_per_mtok is not None:
        provider = settings.model.split("/", 1)[0] if "/" in settings.model else "openai"
        logger = logging.getLogger("LiteLLM")
        level, logger.level = logger.level, logging.ERROR  # its note about cache pricing is not for us
        try:
            litellm().register_model({settings.model: {
                "input_cost_per_token": (settings.input_price_per_mtok or 0.0) / 1e6,
                "output_cost_per_token": (settings.output_price_per_mtok or 0.0) / 1e6,
                "litellm_provider": provider, "mode": "chat"}})
        finally:
            logger.level = level
    return known


def _bucket(settings: LLMSettings, unit: str, per_minute: float | None):
    """This process's bucket, or the one all workers share when the settings name a server."""
    if not per_minute:
        return None
    if settings.shared_limits_dsn:
        from pipeline.judge.shared_limits import SharedTokenBucket

        return SharedTokenBucket(settings.shared_limits_dsn, f"{settings.model}|{unit}", per_minute)
    return TokenBucket(per_minute)


class LLMClient:
    """Async completions with the policies in the module docstring; one per run."""

    def __init__(self, settings: LLMSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.rpm = _bucket(settings, "requests", settings.requests_per_minute)
        self.tpm = _bucket(settings, "tokens", settings.tokens_per_minute)
        self.stats = CallStats()
        self.rng = rng or random.Random(0)
        self.price_known = _register_price(settings)

    def price(self, response: litellm_module.ModelResponse, input_tokens: int, output_tokens: int) -> float:
        s = self.settings
        if s.input_price_per_mtok is not None or s.output_price_per_mtok is not None:
            return (input_tokens * (s.input_price_per_mtok or 0) + output_tokens * (s.output_price_per_mtok or 0)) / 1e6
        if self.settings.model.startswith(heuristic_judge.PROVIDER + "/"):
            return 0.0
        # litellm prices every response it knows the model of (None otherwise: configure a price)
        hidden = getattr(response, "_hidden_params", None) or {}
        return float(hidden.get("response_cost") or 0.0)

    def unit_prices(self) -> tuple[float, float] | None:
        """(input, output) USD per token: the configured prices, else litellm's; None when neither
        is known (the local judge is free)."""
        s = self.settings
        if s.input_price_per_mtok is not None or s.output_price_per_mtok is not None:
            return (s.input_price_per_mtok or 0.0) / 1e6, (s.output_price_per_mtok or 0.0) / 1e6
        if s.model.startswith(heuristic_judge.PROVIDER + "/"):
            return 0.0, 0.0
        if not self.price_known:
            return None
        try:
            info = litellm().get_model_info(s.model)
        except Exception:  # noqa: BLE001  (litellm raises a generic exception for unknown models)
            return None
        return float(info.get("input_cost_per_token") or 0.0), float(info.get("output_cost_per_token") or 0.0)

    def worst_case_cost(self, messages: list[dict], calls: int = 2) -> float:
        """The most `calls` completions of `messages` can cost: the prompt at one token per UTF-8
        byte (a byte-level tokenizer, or one with byte fallback, never makes more; characters / 3
        was overrun 1.4x by emoji, which take about a token each) plus a few per message, and
        max_tokens of answer each. A budget reserves this before a call starts, so that the calls
        in flight can never take it past its cap. Two calls: a broken answer gets one repair."""
        prices = self.unit_prices()
        if prices is None:
            return 0.0
        prompt = sum(len(m["content"].encode("utf-8", "surrogatepass")) + 8 for m in messages) + 16
        return calls * (prompt * prices[0] + self.settings.max_tokens * prices[1])

    def key_variable(self) -> str:
        """The environment variable that holds this model's key: the configured one, else the
        provider's usual one as litellm knows it."""
        if self.settings.api_key_env:
            return self.settings.api_key_env
        try:
            missing = litellm().validate_environment(model=self.settings.model).get("missing_keys") or []
        except Exception:  # noqa: BLE001  (an unknown provider)
            missing = []
        if missing:
            return missing[0]
        provider = self.settings.model.split("/", 1)[0] if "/" in self.settings.model else "openai"
        return f"{provider.upper()}_API_KEY"

    def estimate_tokens(self, messages: list[dict]) -> int:
        return sum(len(m["content"]) for m in messages) // 4 + self.settings.max_tokens // 4

    async def complete(self, messages: list[dict]) -> Completion:
        s = self.settings
        attempts, t0, last_error = 0, time.perf_counter(), None
        while attempts <= s.max_retries:
            attempts += 1
            if self.rpm:
                await self.rpm.acquire(1)
            if self.tpm:
                await self.tpm.acquire(self.estimate_tokens(messages))
            try:
                async with self.semaphore:
                    self.stats.calls += 1
                    response = await litellm().acompletion(
                        model=s.model, messages=messages, api_base=s.api_base, api_key=s.api_key,
                        timeout=s.timeout_s, temperature=s.temperature, max_tokens=s.max_tokens,
                        max_retries=0, num_retries=0,
                        turn_off_message_logging=logging_callbacks_configured())
            except fatal() as exc:
                detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                if isinstance(exc, litellm().AuthenticationError):
                    raise LLMConfigError(f"model {s.model}: the provider refused the API key in {self.key_variable()} "
                                         f"({detail})") from exc
                raise LLMConfigError(f"model {s.model}: {detail} (check the model name, EVALFUNNEL_JUDGE_MODEL and the "
                                     f"key in {self.key_variable()})") from exc
            except retryable() as exc:
                if _MISSING_KEY.search(str(exc)):  # litellm reports a missing key as a 500: no retry fixes it
                    raise LLMConfigError(f"model {s.model}: no API key: set {self.key_variable()} "
                                         f"({str(exc).splitlines()[0][:160]})") from exc
                last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                self.stats.by_error[type(exc).__name__] = self.stats.by_error.get(type(exc).__name__, 0) + 1
                if attempts > s.max_retries:
                    break
                self.stats.retries += 1
                backoff = min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempts - 1)) * self.rng.uniform(0.5, 1.0)
                await asyncio.sleep(max(backoff, retry_after_seconds(exc) or 0.0))
                continue
            except litellm().BadRequestError as exc:  # this request is wrong; the others may be fine
                last_error = f"BadRequestError: {str(exc).splitlines()[0][:200]}"
                break
            usage = getattr(response, "usage", None)
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = self.price(response, tokens_in, tokens_out)
            self.stats.input_tokens += tokens_in
            self.stats.output_tokens += tokens_out
            self.stats.cost_usd += cost
            return Completion(response.choices[0].message.content or "", None, attempts,
                              (time.perf_counter() - t0) * 1000, tokens_in, tokens_out, cost)
        self.stats.failures += 1
        return Completion(None, last_error or "failed", attempts, (time.perf_counter() - t0) * 1000, 0, 0, 0.0)
