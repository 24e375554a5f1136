create table if not exists eval_set_versions (
    version_id varchar not null,
    quarter date not null,
    created_at timestamptz not null,
    parent_version varchar,
    n_items integer not null,
    counts json not null,
    production_mix json not null,
    config json not null,
    shortfall json not null
)
