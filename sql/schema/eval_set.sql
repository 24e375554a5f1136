create table if not exists eval_set (
    quarter date not null,
    version_id varchar not null,
    item_id varchar not null,
    kind varchar not null,
    stratum varchar not null,
    reason varchar not null,
    messages struct(role varchar, content varchar)[] not null,
    query varchar not null,
    response varchar not null,
    metadata json,
    source_timestamp timestamptz,
    built_at timestamptz not null
)
