create table if not exists label_rejects (
    source_file varchar not null,
    line bigint not null,
    reason varchar not null,
    rejected_at timestamptz not null
)
