-- Results of this batch; a key already cached (recovered twice, say) keeps its first result.
insert or ignore into judge_cache
select cache_key, judge_version, kind, status, cast(verdict as json), raw, error, attempts, latency_ms,
       input_tokens, output_tokens, cost_usd, now()
from cache_batch
