-- Which of the given keys are already judged.
select cache_key, kind, status, cast(verdict as varchar), raw, error, attempts, latency_ms, input_tokens,
       output_tokens, cost_usd
from judge_cache where cache_key in (select unnest($keys))
