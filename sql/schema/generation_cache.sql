create table if not exists generation_cache (
    cache_key varchar primary key,
    candidate varchar not null,
    model varchar not null,
    response varchar not null,
    latency_ms double not null,
    input_tokens bigint not null,
    output_tokens bigint not null,
    cost_usd double not null,
    created_at timestamptz not null
)
