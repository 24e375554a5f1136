"""A local OpenAI-compatible chat-completions server with injectable faults.

For tests and benchmarks of the real HTTP path (litellm -> HTTP -> server), on 127.0.0.1 only.
It answers like a judge (pipeline.judge.heuristic) and can inject, per request:
latency (fixed, or jittered around its mean: seeded, in arrival order), 429 with Retry-After,
5xx, a hang past the client's timeout, malformed JSON, truncated
JSON, and a shift of the scores (a silent model update). Faults come either from a per-prompt schedule (deterministic: the first attempts of every
distinct prompt get the listed faults, in order) or from random rates (seeded). A response that
contains "INJECT:" makes the "model" obey it on every turn, like a naive model would: it
answers with the text after the marker instead of a verdict.

    with LocalLLMServer(Faults(latency_ms=200)) as server:
        litellm.acompletion(model="openai/judge", api_base=server.base_url, api_key="local", ...)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from pipeline.judge import heuristic as heuristic_judge

FAULTS = ("429", "5xx", "timeout", "malformed", "truncated", "401", "404")


@dataclass
class Faults:
    latency_ms: float = 0.0  # the mean latency of every request
    # spread around latency_ms, drawn per request in arrival order (seeded): "uniform" draws from
    # latency_ms x (1 +/- jitter); "lognormal" from a lognormal with mean latency_ms and sigma
    # jitter (right-skewed, like a provider's latencies)
    jitter: float = 0.0
    jitter_dist: str = "lognormal"
    schedule: tuple[str, ...] = ()  # faults for the 1st, 2nd, ... attempt of each distinct prompt
    rates: dict[str, float] = field(default_factory=dict)  # fault -> probability per request
    retry_after_s: float = 0.05
    hang_s: float = 30.0  # how long a "timeout" fault holds the request
    seed: int = 0
    canned: bool = False  # answer every prompt with the same valid verdict (cheapest server for benchmarks)
    fault_repairs: bool = False  # whether repair requests ("Your previous answer was not valid") get faults too
    # added to the judge's scores (clipped to 1-5): a provider silently changing the model; may be
    # changed while the server runs
    score_shift: dict[str, int] = field(default_factory=dict)
    # how the usage it reports counts tokens: "chars/4" (about English) or "bytes" (one token per
    # UTF-8 byte: the most any byte-level tokenizer bills, e.g. for emoji)
    token_count: str = "chars/4"


class LocalLLMServer:
    """Runs in a thread with its own event loop; `calls` counts every request by outcome."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.calls: Counter = Counter()
        self.attempts: Counter = Counter()  # per prompt hash
        self.rng = random.Random(self.faults.seed)
        self.latency_rng = random.Random(f"latency:{self.faults.seed}")
        self.latencies_ms: list[float] = []  # the latency each request was given, in arrival order
        self.lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _canned(self, messages: list[dict]) -> str:
        system = messages[0]["content"] if messages else ""
        dims = re.search(r"Dimensions: (.*)", system)
        if '"winner"' in system:
            return '{"winner": "tie", "rationale": "canned"}'
        names = [d.strip() for d in dims.group(1).split(",")] if dims else []
        return json.dumps({"scores": dict.fromkeys(names, 3), "rationale": "canned"})

    def _shifted(self, content: str) -> str:
        try:
            verdict = json.loads(content)
        except json.JSONDecodeError:
            return content
        scores = verdict.get("scores") if isinstance(verdict, dict) else None
        if not isinstance(scores, dict):
            return content
        for dim, delta in self.faults.score_shift.items():
            if isinstance(scores.get(dim), int):
                scores[dim] = max(1, min(5, scores[dim] + delta))
        return json.dumps(verdict)

    def _latency_ms(self) -> float:
        f = self.faults
        if not f.jitter or not f.latency_ms:
            latency = f.latency_ms
        elif f.jitter_dist == "uniform":
            latency = f.latency_ms * self.latency_rng.uniform(1 - f.jitter, 1 + f.jitter)
        elif f.jitter_dist == "lognormal":
            latency = f.latency_ms * self.latency_rng.lognormvariate(-f.jitter ** 2 / 2, f.jitter)
        else:
            raise ValueError(f"unknown jitter_dist {f.jitter_dist!r}: uniform or lognormal")
        self.latencies_ms.append(latency)
        return latency

    def _fault_for(self, prompt_key: str) -> str | None:
        with self.lock:
            self.attempts[prompt_key] += 1
            n = self.attempts[prompt_key]
            if n <= len(self.faults.schedule):
                return self.faults.schedule[n - 1] or None
            for fault, rate in self.faults.rates.items():
                if self.rng.random() < rate:
                    return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        messages = body.get("messages", [])
        # the prompt's identity matters only for a per-prompt fault schedule
        key = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest() if self.faults.schedule else ""
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        is_repair = user.startswith("Your previous answer was not valid")
        fault = None if is_repair and not self.faults.fault_repairs else self._fault_for(key)
        self.calls[fault or "ok"] += 1  # counted on arrival: a request the client abandons was still billed
        latency_ms = self._latency_ms()  # on the server's loop: the draws keep arrival order
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if fault == "401":
            return web.json_response({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                "code": "invalid_api_key"}}, status=401)
        if fault == "404":
            return web.json_response({"error": {"message": "The model does not exist", "type": "invalid_request_error",
                                                "code": "model_not_found"}}, status=404)
        if fault == "429":
            return web.json_response({"error": {"message": "rate limited", "type": "rate_limit_error"}}, status=429,
                                     headers={"Retry-After": str(self.faults.retry_after_s)})
        if fault == "5xx":
            return web.json_response({"error": {"message": "upstream overloaded", "type": "server_error"}}, status=503)
        if fault == "timeout":
            await asyncio.sleep(self.faults.hang_s)
        # a naive model: it obeys an injected instruction anywhere in the conversation
        injected = re.search(r"INJECT:(.*)", "\n".join(m.get("content") or "" for m in messages if m["role"] == "user"))
        content = injected.group(1).strip() if injected else (self._canned(messages) if self.faults.canned
                                                               else heuristic_judge.judge(messages))
        if self.faults.score_shift and not injected:
            content = self._shifted(content)
        if fault == "malformed":
            content = "Sure! Here are my scores: correctness=4, relevance=5 (I hope that helps)"
        elif fault == "truncated":
            content = content[: max(1, len(content) // 2)]
        if self.faults.token_count == "bytes":
            prompt_tokens = sum(len((m.get("content") or "").encode()) for m in messages)
        else:
            prompt_tokens = sum(len(m.get("content") or "") for m in messages) // 4
        return web.json_response({
            "id": f"chatcmpl-{key[:12] or 'local'}", "object": "chat.completion", "created": 0, "model": body.get("model", "local"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                      "total_tokens": prompt_tokens + len(content) // 4}})

    def _serve(self) -> None:
        try:
            import uvloop  # a faster event loop where installed (it comes with Dagster)

            self._loop = uvloop.new_event_loop()
        except ImportError:
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=16 << 20)
        app.router.add_post("/v1/chat/completions", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> LocalLLMServer:
        self._thread = threading.Thread(target=self._serve, name="local-llm-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def main() -> None:
    """`python -m pipeline.judge.local_server --latency-ms 200 --rate 429=0.1 --rate 5xx=0.1`:
    serve until stdin closes or the process is killed; prints the port on the first line."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="local OpenAI-compatible server with injectable faults")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate", action="append", default=[], help="FAULT=PROBABILITY, FAULT in " + ", ".join(FAULTS))
    parser.add_argument("--jitter", type=float, default=0.0, help="spread of the latency around its mean (see Faults)")
    parser.add_argument("--jitter-dist", choices=("lognormal", "uniform"), default="lognormal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--canned", action="store_true", help="answer every prompt with the same valid verdict")
    args = parser.parse_args()
    rates = {k: float(v) for k, v in (r.split("=", 1) for r in args.rate)}
    faults = Faults(latency_ms=args.latency_ms, jitter=args.jitter, jitter_dist=args.jitter_dist, rates=rates,
                    seed=args.seed, canned=args.canned)
    with LocalLLMServer(faults) as server:
        print(server.port, flush=True)
        sys.stdin.read()  # the parent closes stdin (or exits) to stop the server
        import time

        # last line: calls by outcome, then the process's CPU seconds and each request's latency
        print(json.dumps({**server.calls, "cpu_seconds": round(time.process_time(), 3),
                          "latencies_ms": [round(x, 2) for x in server.latencies_ms]}), flush=True)


if __name__ == "__main__":
    main()
