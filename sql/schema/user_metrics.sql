create table if not exists user_metrics (
    experiment_id varchar not null,
    user_id varchar not null,
    variant varchar not null,
    exposure_at timestamptz not null,
    metric varchar not null,
    value double not null,  -- numerator (or the per-user value of a mean metric)
    denominator double not null,  -- 1 for mean metrics
    pre_value double not null,  -- the same metric before exposure (CUPED covariate)
    pre_denominator double not null
)
