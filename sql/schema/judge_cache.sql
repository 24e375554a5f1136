create table if not exists judge_cache (
    cache_key varchar primary key,
    judge_version varchar not null,
    kind varchar not null,
    status varchar not null,
    verdict json,
    raw varchar,
    error varchar,
    attempts integer not null,
    latency_ms double not null,
    input_tokens bigint not null,
    output_tokens bigint not null,
    cost_usd double not null,
    created_at timestamptz not null
)
