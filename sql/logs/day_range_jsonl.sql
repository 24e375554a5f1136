-- First and last day of each JSONL file (plain or gzip), reading only the timestamp, with the
-- parser's rules (sql/logs/parse_lines.sql): RFC 3339 text, 10-13 digits as text, or a JSON number
-- read as epoch seconds below 10^11, else milliseconds (1778801400000.0 is a number, as in the parser).
-- $lenient = false: a line that is not JSON fails the scan (the ingest then reads the file).
-- A file with no timestamp in the accepted range gives no row.
with ts as (
    select filename, "timestamp" as j
    from read_ndjson($path, columns = {'timestamp': 'JSON'}, format = 'newline_delimited', records = true,
                     ignore_errors = $lenient, filename = true)
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
