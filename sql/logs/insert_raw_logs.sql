insert into raw_logs
select s.ts_date, s.request_id, s."timestamp", s.user_id, s.session_id, s.messages, s.response, s.model,
       s.prompt_version, s.experiment_id, s.variant, s.latency_ms, s.cost_usd, s.input_tokens, s.output_tokens,
       s.feedback, s.metadata, s.extra, s.source_file, s.line_no, now()
from staged s
anti join duplicate_rows d using (source_file, line_no)
where s.reject_reason is null and s.ts_date >= $start and s.ts_date < $end
