create table if not exists assignment_issues (
    experiment_id varchar not null,
    issue varchar not null,  -- multiple_variants, unknown_variant, outside_window, unknown_experiment, invalid_row, unreadable_file
    users bigint not null,
    detail varchar
)
