-- First and last day of each Parquet file, reading only the timestamp column, with the parser's
-- rules (sql/logs/parse_lines.sql sees Parquet rows as JSON): a timestamp column, RFC 3339
-- text, 10-13 digits as text, or an epoch number (below 10^11 seconds, else milliseconds).
with ts as (
    select filename, to_json("timestamp") as j from read_parquet($path, filename = true)
), parsed as (
    select case
        when json_type(j) in ('BIGINT', 'UBIGINT', 'DOUBLE') then try_cast(make_timestamp(try_cast(
            j::double * (case when abs(j::double) < 1e11 then 1000000 else 1000 end) as bigint)) as timestamptz)
        when json_type(j) = 'VARCHAR' and regexp_full_match(j ->> '$', '\d{10,13}') then
            make_timestamp(case when length(j ->> '$') = 13 then (j ->> '$')::bigint * 1000
                                else (j ->> '$')::bigint * 1000000 end)::timestamptz
        when json_type(j) = 'VARCHAR' then try_cast(j ->> '$' as timestamptz)
    end as t, filename
    from ts
)
select filename,
    -- timestamps outside the accepted range are rejects: they must not stretch the partitions
    cast(timezone('UTC', min(t) filter (where t between $ts_min and $ts_max)) as date),
    cast(timezone('UTC', max(t) filter (where t between $ts_min and $ts_max)) as date),
    -- whether every timestamp is in the range: a reject for one outside it is a record on its own
    -- day once the range moves (EVALFUNNEL_LOGS_SINCE set earlier, a future time come), which a
    -- remembered scan would not know, so the ingest does not skip such a file by its scan
    bool_and(t between $ts_min and $ts_max)
from parsed
where t is not null
group by filename
having count(*) filter (where t between $ts_min and $ts_max) > 0
