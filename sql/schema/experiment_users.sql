create table if not exists experiment_users (
    experiment_id varchar not null,
    user_id varchar not null,  -- HMAC pseudonym, the same as clean_logs.user_id
    variant varchar not null,
    exposure_at timestamptz not null
)
