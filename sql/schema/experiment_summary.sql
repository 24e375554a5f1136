create table if not exists experiment_summary (
    experiment_id varchar not null,
    start_date date not null,
    end_date date not null,
    users bigint not null,
    users_per_variant varchar not null,  -- JSON {variant: users}
    srm_p_value double,
    srm_invalid boolean not null,
    excluded_users bigint not null,
    decision varchar not null,  -- ship, do not ship, inconclusive, invalid
    ship_variant varchar,
    reason varchar not null,
    analyzed_at timestamptz not null
)
