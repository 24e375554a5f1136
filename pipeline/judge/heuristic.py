"""`evalfunnel/heuristic`: a local, deterministic, free judge registered as a litellm provider.

It reads the same prompt a real judge gets (the delimited conversation, response and expected
behaviour; the dimension list) and scores observable features. It is a labelled baseline, not a
quality judge: every rationale starts with "heuristic baseline". It reads the blocks as the
prompt defines them (`judge.prompt.read_blocks`: only markers with the prompt's boundary, the
kind from the system prompt), so text that imitates a marker stays part of the text it is in.

- relevance: overlap of the response's content words with the user's words;
- length: characters against what the question's type needs (short factual vs how-to vs writing);
- clarity: structure (numbered steps, lists, code), sentence length, run-on and repetition;
- calibration: hedges where the answer is uncertain or overconfident markers ("Definitely");
- correctness: penalties for refusals, empty answers, tangents and overconfident claims, and
  the expected behaviour's required and forbidden phrases when a regression case gives them.
"""

from __future__ import annotations

import json
import re

from pipeline.judge.prompt import conversation_turns, read_blocks

PROVIDER = "evalfunnel"
MODEL = f"{PROVIDER}/heuristic"
_WORD = re.compile(r"[a-zà-ÿ]{3,}")
_STOP = set("the and for you your with that this what how can are was not but have from will about into out "
            "use get its it's does did any all there their them then than when which who why".split())
_HEDGE = re.compile(r"(?i)\b(i believe|if i remember|not (fully )?(sure|certain)|double-check|verify|may want to|might)\b")
_OVERCONFIDENT = re.compile(r"(?i)\b(definitely|100% sure|obviously|without any doubt)\b")
_REFUSAL = re.compile(r"(?i)\b(can't|cannot|won't|unable to) (help|assist|comply)")
_STRUCTURE = re.compile(r"(?m)^(\d+\.|[-*•]) |```")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _clip(x: float, low: int = 1, high: int = 5) -> int:
    return max(low, min(high, round(x)))


def _ideal_length(query: str) -> tuple[int, int]:
    q = query.lower()
    if re.search(r"\b(write|rewrite|cover letter|email|summar|plan|itinerary)\b", q):
        return 250, 1200
    if re.search(r"\b(how|why|explain|difference|steps?)\b", q):
        return 150, 700
    return 60, 400


def score(turns: list[tuple[str, str]], response: str, expected: str | None) -> tuple[dict[str, int], str]:
    """Scores 1-5 per default dimension, and a rationale naming the features used."""
    user_turns = [content for role, content in turns if role == "user"]
    user_text = "\n".join(user_turns)
    query = user_turns[-1] if user_turns else ""
    if not response.strip():
        return dict.fromkeys(("correctness", "relevance", "clarity", "calibration", "length"), 1), \
            "heuristic baseline: empty response"
    overlap = len(_words(response) & _words(user_text)) / max(1, len(_words(user_text)))
    relevance = _clip(1 + 4 * min(1.0, overlap * 1.6)) - (1 if response.startswith("Regarding ") else 0)
    low, high = _ideal_length(query)
    n = len(response)
    length = 5 if low <= n <= high else _clip(5 - (low - n) / low * 4 if n < low else 5 - (n - high) / high * 2.5)
    sentences = [s for s in re.split(r"[.!?]\s", response) if s.strip()]
    avg_words = sum(len(s.split()) for s in sentences) / max(1, len(sentences))
    clarity = 3 + (1 if _STRUCTURE.search(response) else 0) + (1 if avg_words < 28 else 0) \
        - (2 if "and so on" in response else 0) - (1 if avg_words > 45 else 0)
    hedged, overconfident = bool(_HEDGE.search(response)), bool(_OVERCONFIDENT.search(response))
    calibration = 2 if overconfident else (3 if hedged else 4)
    correctness = 4 - (1 if overconfident else 0) - (1 if response.startswith("Regarding ") else 0)
    notes = [f"overlap {overlap:.2f}", f"{n} chars for ideal {low}-{high}"]
    if _REFUSAL.search(response):
        correctness, relevance = 1, min(relevance, 2)
        notes.append("refusal")
    if expected:
        wanted = re.findall(r"`([^`]+)`", expected)
        if wanted and all(w in response for w in wanted):
            correctness = 5
            notes.append("meets the expected behaviour")
        elif wanted:
            correctness = min(correctness, 2)
            notes.append("misses the expected behaviour")
    scores = {"correctness": _clip(correctness), "relevance": _clip(relevance), "clarity": _clip(clarity),
              "calibration": _clip(calibration), "length": _clip(length)}
    return scores, "heuristic baseline: " + ", ".join(notes)


def judge(messages: list[dict]) -> str:
    """The JSON answer to a pointwise or pairwise prompt from pipeline.judge.prompt (a repair
    request gets the answer to the prompt it follows)."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    kind, blocks = read_blocks(messages)
    dims_line = re.search(r"Dimensions: (.*)", system)
    dims = [d.strip() for d in dims_line.group(1).split(",")] if dims_line else []
    conversation = conversation_turns(messages)
    if kind == "pairwise":
        a, _ = score(conversation, blocks.get("RESPONSE A", ""), None)
        b, _ = score(conversation, blocks.get("RESPONSE B", ""), None)
        diff = sum(a.values()) - sum(b.values())
        winner = "tie" if abs(diff) <= 1 else ("a" if diff > 0 else "b")
        return json.dumps({"winner": winner, "rationale": f"heuristic baseline: total {sum(a.values())} vs {sum(b.values())}"})
    scores, rationale = score(conversation, blocks.get("RESPONSE", ""), blocks.get("EXPECTED BEHAVIOR"))
    # a rubric with other dimensions gets the mean of the known ones for each unknown one
    mean = _clip(sum(scores.values()) / len(scores))
    return json.dumps({"scores": {d: scores.get(d, mean) for d in dims}, "rationale": rationale})


def register(litellm) -> None:
    """Make `evalfunnel/heuristic` a litellm model (idempotent). Takes the litellm module, which
    the client imports on first use (the import is slow)."""
    if any(p.get("provider") == PROVIDER for p in litellm.custom_provider_map):
        return

    class HeuristicJudge(litellm.CustomLLM):
        """The litellm handler for `evalfunnel/heuristic`."""

        def _response(self, model: str, messages: list[dict]) -> litellm.ModelResponse:
            content = judge(messages)
            prompt_tokens = sum(len(m["content"]) for m in messages) // 4
            return litellm.ModelResponse(
                model=model, choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                usage={"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                       "total_tokens": prompt_tokens + len(content) // 4})

        def completion(self, model: str, messages: list, *args, **kwargs) -> litellm.ModelResponse:
            return self._response(model, messages)

        async def acompletion(self, model: str, messages: list, *args, **kwargs) -> litellm.ModelResponse:
            return self._response(model, messages)

    litellm.custom_provider_map = [*litellm.custom_provider_map, {"provider": PROVIDER, "custom_handler": HeuristicJudge()}]
