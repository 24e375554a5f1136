create table if not exists offline_online (
    quarter date not null,  -- the quarter the experiment ended in
    experiment_id varchar not null,  -- the experiment (experiment_summary)
    variant varchar not null,  -- a treatment
    control varchar not null,  -- the experiment's control variant
    judge_version varchar not null,  -- the judge version that scored the experiment's samples
    dimension varchar not null,  -- the rubric dimension of judge_delta
    n_control_items integer not null,  -- judged experiment samples of the control arm (scored responses)
    n_treatment_items integer not null,  -- judged experiment samples of the treatment arm
    users integer not null,  -- distinct users behind the judged samples of both arms: the clusters
    judge_delta double,  -- treatment - control mean judge score (points)
    judge_ci_low double,  -- lower end of judge_delta's 95% interval, standard errors clustered by user (CR1)
    judge_ci_high double,  -- upper end of that interval; null (with a logged reason) when an arm's responses come from one user or there are too few
    metric varchar not null,  -- the online metric (experiment_results.metric)
    role varchar,  -- primary, guardrail, secondary
    higher_is_better boolean not null,  -- the metric's direction
    online_diff double,  -- the online effect, treatment - control in the metric's units (experiment_results.diff, overall or sequential row)
    online_rel_diff double,  -- the relative online effect, treatment / control - 1 (experiment_results.rel_diff)
    online_rel_ci_low double,  -- lower end of its interval (experiment_results.rel_ci_low)
    online_rel_ci_high double,  -- upper end of its interval (experiment_results.rel_ci_high)
    online_p_value double,  -- the online test's p (experiment_results.p_value)
    online_significant boolean,  -- the online effect is significant (experiment_results.significant)
    online_better double,  -- online_rel_diff signed so that positive is better for users
    srm_invalid boolean not null,  -- such rows never enter offline_online_correlation
    computed_at timestamptz not null  -- when the quarter was computed
)
