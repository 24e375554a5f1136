create table if not exists experiment_summary (
    experiment_id varchar not null,  -- the experiment
    start_date date not null,  -- the pre-registered start
    end_date date not null,  -- the pre-registered end (inclusive)
    users bigint not null,  -- users analysed, over the pre-registered variants
    users_per_variant varchar not null,  -- JSON {variant: users}
    srm_p_value double,  -- chi-square p of the arm sizes against the pre-registered allocation; null without users
    srm_invalid boolean not null,  -- srm_p_value < 0.001: a sample ratio mismatch, decision invalid
    excluded_users bigint not null,  -- assigned users left out: multiple_variants, unknown_variant or outside_window (assignment_issues)
    decision varchar not null,  -- ship, do not ship, inconclusive, invalid
    ship_variant varchar,  -- the treatment to ship when decision is ship (the highest chance to win); null otherwise
    reason varchar not null,  -- why, in words (the metrics that decided, or the SRM p)
    analyzed_at timestamptz not null  -- when the analysis ran
)
