create table if not exists candidate_responses (
    item_id varchar not null,
    variant varchar not null,
    messages struct(role varchar, content varchar)[] not null,
    response varchar not null,
    latency_ms double,
    cost_usd double,
    input_tokens bigint,
    output_tokens bigint,
    origin varchar not null,
    loaded_at timestamptz not null
)
