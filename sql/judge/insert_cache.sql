-- Results of this batch; a key already cached (recovered twice, say) keeps its first result. A merge
-- that only inserts, not a key constraint (DuckLake has none), keeps one row per key on both backends.
merge into judge_cache t
using (select * from cache_batch qualify row_number() over (partition by cache_key) = 1) s
on t.cache_key = s.cache_key
when not matched then insert values (s.cache_key, s.judge_version, s.kind, s.status, cast(s.verdict as json), s.raw,
    s.error, s.attempts, s.latency_ms, s.input_tokens, s.output_tokens, s.cost_usd, now())
