-- Generated responses of this batch (registered as `generation_batch`); a key already cached keeps
-- its first response. A merge that only inserts keeps one row per key on both backends.
merge into generation_cache t
using (select * from generation_batch qualify row_number() over (partition by cache_key) = 1) s
on t.cache_key = s.cache_key
when not matched then insert values (s.cache_key, s.candidate, s.model, s.response, s.latency_ms, s.input_tokens,
    s.output_tokens, s.cost_usd, now())
