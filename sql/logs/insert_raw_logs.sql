insert into raw_logs
select log_date, request_id, "timestamp", user_id, session_id, messages, response, model,
       prompt_version, experiment_id, variant, latency_ms, cost_usd, input_tokens, output_tokens,
       feedback, metadata, extra, source_file, line_no, now()
from attributed
where reject_reason is null and copy_no = 1 and log_date >= $start and log_date < $end
