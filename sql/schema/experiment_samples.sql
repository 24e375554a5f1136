create table if not exists experiment_samples (
    month date not null,
    experiment_id varchar not null,
    variant varchar not null,
    stratum varchar not null,
    item_id varchar not null,
    user_id varchar not null,
    "timestamp" timestamptz not null,
    messages struct(role varchar, content varchar)[] not null,
    response varchar not null,
    metadata json
)
