create table if not exists offline_online (
    quarter date not null,  -- the quarter the experiment ended in
    experiment_id varchar not null,
    variant varchar not null,  -- a treatment
    control varchar not null,
    judge_version varchar not null,
    dimension varchar not null,
    n_control_items integer not null,  -- judged experiment samples
    n_treatment_items integer not null,
    users integer not null,  -- clusters
    judge_delta double,  -- treatment - control mean judge score (points)
    judge_ci_low double,  -- 95%, standard errors clustered by user
    judge_ci_high double,
    metric varchar not null,
    role varchar,  -- primary, guardrail, secondary
    higher_is_better boolean not null,
    online_diff double,
    online_rel_diff double,
    online_rel_ci_low double,
    online_rel_ci_high double,
    online_p_value double,
    online_significant boolean,
    online_better double,  -- online_rel_diff signed so that positive is better for users
    srm_invalid boolean not null,  -- such rows never enter offline_online_correlation
    computed_at timestamptz not null
)
