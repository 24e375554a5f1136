create table if not exists variant_ratings (
    judge_version varchar not null,
    variant varchar not null,
    baseline varchar not null,
    rating double not null,
    ci_low double,
    ci_high double,
    win_rate_vs_baseline double,
    n_comparisons integer not null,
    length_controlled boolean not null,
    position_consistency double,
    computed_at timestamptz not null
)
