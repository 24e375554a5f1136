create table if not exists raw_purges (
    log_date date primary key,
    raw_rows bigint not null,
    reject_rows bigint not null,
    purged_at timestamptz not null
)
