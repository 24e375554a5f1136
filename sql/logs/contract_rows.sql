-- The columns the raw_logs contract checks, for one window, without the heavy text.
select log_date, request_id, "timestamp", user_id,
       case when response is null then null else length(response) end as response,
       len(messages) as n_messages, feedback.thumbs as thumbs,
       latency_ms, cost_usd, input_tokens, output_tokens
from raw_logs
where log_date >= $start and log_date < $end
