-- First and last day in a JSONL file, reading only the timestamp (RFC 3339 text or epoch ms).
with ts as (
    select "timestamp" as t
    from read_ndjson($path, columns = {'timestamp': 'VARCHAR'}, ignore_errors = true)
), parsed as (
    select case when regexp_full_match(t, '\d{13}') then make_timestamp(t::bigint * 1000)::timestamptz
                when regexp_full_match(t, '\d{10}') then make_timestamp(t::bigint * 1000000)::timestamptz
                else try_cast(t as timestamptz) end as t
    from ts
)
select cast(timezone('UTC', min(t)) as date), cast(timezone('UTC', max(t)) as date) from parsed
-- timestamps outside the accepted range are rejects: they must not stretch the partitions
where t between $ts_min and $ts_max
