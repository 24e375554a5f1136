create table if not exists log_files (
    source_file varchar primary key,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    records bigint not null,
    first_date date,
    last_date date,
    error varchar,
    indexed_at timestamptz not null
)
