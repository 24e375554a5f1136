-- imported judgments keep the time they were made (judged_at) as created_at
insert into judge_scores
select item_id, variant, source, judge_model, rubric_version, judge_version, dimension, score, rationale, status,
       error, latency_ms, tokens, cost_usd, judged_at
from score_rows
