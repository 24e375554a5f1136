-- First and last day in a CSV file, reading only the timestamp column.
with parsed as (
    select case when regexp_full_match("timestamp", '\d{13}') then make_timestamp("timestamp"::bigint * 1000)::timestamptz
                when regexp_full_match("timestamp", '\d{10}') then make_timestamp("timestamp"::bigint * 1000000)::timestamptz
                else try_cast("timestamp" as timestamptz) end as t
    from read_csv($path, all_varchar = true, header = true, ignore_errors = true)
)
select cast(timezone('UTC', min(t)) as date), cast(timezone('UTC', max(t)) as date) from parsed
-- timestamps outside the accepted range are rejects: they must not stretch the partitions
where t between $ts_min and $ts_max
