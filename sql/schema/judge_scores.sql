create table if not exists judge_scores (
    item_id varchar not null,
    variant varchar,
    source varchar not null,
    judge_model varchar not null,
    rubric_version varchar not null,
    judge_version varchar not null,
    dimension varchar not null,
    score integer,
    rationale varchar,
    status varchar not null,
    error varchar,
    latency_ms double,
    tokens bigint,
    cost_usd double,
    created_at timestamptz not null
)
