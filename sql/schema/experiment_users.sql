create table if not exists experiment_users (
    experiment_id varchar not null,  -- the experiment (its pre-registration in experiments/)
    user_id varchar not null,  -- HMAC pseudonym, the same as clean_logs.user_id
    variant varchar not null,  -- the arm the user was assigned to (one known variant; other users are in assignment_issues)
    exposure_at timestamptz not null  -- the user's first assignment (assigned_at), inside the experiment's dates
)
