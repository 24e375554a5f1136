-- The columns the raw_logs contract checks, for one window, without the heavy text. Per-day
-- rules become plain columns, so one validation covers the whole window: request_id must be
-- unique within its day, and the timestamp must fall inside the row's day.
select log_date,
       strftime(log_date, '%Y-%m-%d') || ' ' || request_id as request_id_in_day,
       request_id, "timestamp", user_id,
       (epoch_us("timestamp") - epoch_us(cast(log_date as timestamp))) / 1e6 as seconds_into_day,
       case when response is null then null else length(response) end as response,
       len(messages) as n_messages, feedback.thumbs as thumbs,
       latency_ms, cost_usd, input_tokens, output_tokens,
       -- NaN and infinities are not nulls: counted here so the suite sees them
       (case when isfinite(coalesce(latency_ms, 0)) then 0 else 1 end)
           + (case when isfinite(coalesce(cost_usd, 0)) then 0 else 1 end) as non_finite_numbers
from raw_logs
where log_date >= $start and log_date < $end
