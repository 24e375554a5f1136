insert into clean_logs
select log_date, request_id, "timestamp", user_id, session_id, messages, response, model, prompt_version,
       experiment_id, variant, latency_ms, cost_usd, input_tokens, output_tokens, feedback,
       cast(metadata as json), cast(extra as json), now()
from cleaned_day
