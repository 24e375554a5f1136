create table if not exists regression_results (
    variant varchar not null,
    case_id varchar not null,
    case_hash varchar not null,
    passed boolean,
    method varchar not null,
    failures varchar,
    judge_version varchar,
    evaluated_at timestamptz not null
)
