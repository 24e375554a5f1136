insert into judge_scores
select item_id, variant, source, judge_model, rubric_version, judge_version, dimension, score, rationale, status,
       error, latency_ms, tokens, cost_usd, now()
from score_rows
