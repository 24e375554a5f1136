create table if not exists pairwise_judgments (
    item_id varchar not null,
    variant_a varchar not null,
    variant_b varchar not null,
    position varchar not null,
    winner varchar,
    judge_model varchar not null,
    judge_version varchar not null,
    status varchar not null,
    rationale varchar,
    error varchar,
    cost_usd double,
    origin varchar not null,
    created_at timestamptz not null
)
