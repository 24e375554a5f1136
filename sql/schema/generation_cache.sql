create table if not exists generation_cache (
    cache_key varchar not null,  -- SHA-256 of the model, temperature, max_tokens and the full prompt (the candidate's system prompt included)
    candidate varchar not null,  -- the candidate's name in candidates.yaml
    model varchar not null,  -- the litellm model string that generated the response
    response varchar not null,  -- the generated answer (only successful generations are cached)
    latency_ms double not null,  -- wall time of the call in milliseconds, retries included
    input_tokens bigint not null,  -- prompt tokens the provider reported
    output_tokens bigint not null,  -- completion tokens the provider reported
    cost_usd double not null,  -- cost in USD as litellm prices the response (0 when it does not know the model)
    created_at timestamptz not null  -- when the response was cached
)
