create table if not exists log_partitions (
    log_date date not null,  -- the day (a daily partition); every day of a materialized window has a row, zeros when it had no records
    files integer not null,  -- source files with records (valid or rejected) dated this day
    read bigint not null,  -- records dated this day: loaded + rejected + duplicates
    loaded bigint not null,  -- records loaded into raw_logs
    rejected bigint not null,  -- records sent to log_rejects
    duplicates bigint not null,  -- valid records dropped because they repeat a (day, request_id) already kept
    ingested_at timestamptz not null  -- when the ingest run counted the day
)
