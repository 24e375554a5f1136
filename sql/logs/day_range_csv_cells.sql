-- First and last day of one CSV file's rows, from the `timestamp` cells the ingest's own CSV
-- reader split (registered as `csv_timestamps(ts)`, an empty cell as NULL). A CSV cell is text,
-- so the parser's text rules (sql/logs/parse_lines.sql): 10-13 digits are epoch seconds, or
-- milliseconds with 13, else RFC 3339. No row when no cell holds a timestamp in the accepted range.
with parsed as (
    select case
        when regexp_full_match(ts, '\d{10,13}') then
            make_timestamp(case when length(ts) = 13 then ts::bigint * 1000 else ts::bigint * 1000000 end)::timestamptz
        else try_cast(ts as timestamptz)
    end as t
    from csv_timestamps
    where ts is not null
)
select
    -- timestamps outside the accepted range are rejects: they must not stretch the partitions
    cast(timezone('UTC', min(t) filter (where t between $ts_min and $ts_max)) as date),
    cast(timezone('UTC', max(t) filter (where t between $ts_min and $ts_max)) as date),
    -- whether every timestamp is in the range (see day_range_jsonl.sql)
    bool_and(t between $ts_min and $ts_max)
from parsed
where t is not null
having count(*) filter (where t between $ts_min and $ts_max) > 0
