create table if not exists log_rejects (
    log_date date not null,
    source_file varchar not null,
    line bigint not null,
    field varchar not null,
    reason varchar not null,
    raw varchar,
    rejected_at timestamptz not null
)
