-- First and last day of each CSV file, reading only the timestamp column. DuckDB's CSV reader
-- may split a malformed file otherwise than the ingest (Python's csv module): used for the
-- source's span only, never to skip a file.
with parsed as (
    select case when regexp_full_match("timestamp", '\d{13}') then make_timestamp("timestamp"::bigint * 1000)::timestamptz
                when regexp_full_match("timestamp", '\d{10}') then make_timestamp("timestamp"::bigint * 1000000)::timestamptz
                else try_cast("timestamp" as timestamptz) end as t, filename
    from read_csv($path, all_varchar = true, header = true, ignore_errors = true, filename = true)
)
select filename, cast(timezone('UTC', min(t)) as date), cast(timezone('UTC', max(t)) as date) from parsed
-- timestamps outside the accepted range are rejects: they must not stretch the partitions
where t between $ts_min and $ts_max
group by filename
