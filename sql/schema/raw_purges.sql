create table if not exists raw_purges (
    log_date date not null,  -- a day whose raw text was purged: older than EVALFUNNEL_RAW_RETENTION_DAYS and with its clean_logs rows
    raw_rows bigint not null,  -- raw_logs rows of the day deleted
    reject_rows bigint not null,  -- log_rejects rows of the day deleted
    purged_at timestamptz not null  -- when the purge (at the end of a clean_logs run) deleted them
)
