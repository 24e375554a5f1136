create table if not exists assignment_issues (
    experiment_id varchar not null,  -- the experiment; '?' for an unreadable file or an invalid row without one
    issue varchar not null,  -- multiple_variants, unknown_variant, outside_window, unknown_experiment, invalid_row, unreadable_file
    users bigint not null,  -- users affected (left out of the analysis); rows for invalid_row, 0 for unreadable_file
    detail varchar  -- what happened, e.g. 'assigned to more than one variant: excluded', or the problem and an example file
)
