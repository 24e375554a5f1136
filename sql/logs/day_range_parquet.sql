-- First and last day in a Parquet file, reading only the timestamp column.
with parsed as (
    select try_cast(cast("timestamp" as varchar) as timestamptz) as t from read_parquet($path)
)
select cast(timezone('UTC', min(t)) as date), cast(timezone('UTC', max(t)) as date) from parsed
-- timestamps outside the accepted range are rejects: they must not stretch the partitions
where t between $ts_min and $ts_max
