create table if not exists log_partitions (
    log_date date not null,
    files integer not null,
    read bigint not null,
    loaded bigint not null,
    rejected bigint not null,
    duplicates bigint not null,
    ingested_at timestamptz not null
)
