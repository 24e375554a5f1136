-- One day of raw_logs, the unit clean_logs streams by.
select log_date, request_id, "timestamp", user_id, session_id, messages, response, model, prompt_version,
       experiment_id, variant, latency_ms, cost_usd, input_tokens, output_tokens, feedback,
       cast(metadata as varchar) as metadata, cast(extra as varchar) as extra
from raw_logs
where log_date = $day
