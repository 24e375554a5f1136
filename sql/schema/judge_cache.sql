create table if not exists judge_cache (
    cache_key varchar not null,  -- SHA-256 of the judge version and the exact prompt; drift re-scoring adds its month to the version, so each month is a fresh call
    judge_version varchar not null,  -- the judge version that answered (hash of model, rubric and prompt template)
    kind varchar not null,  -- pointwise or pairwise
    status varchar not null,  -- ok or parse_failed (the model answered; failed and skipped_budget calls are not cached, so the next run retries them)
    verdict json,  -- the parsed answer, {scores, winner, rationale}; null when parse_failed
    raw varchar,  -- the model's answer text as received (the repair's answer when a repair request was answered)
    error varchar,  -- why the answer could not be parsed; null when ok
    attempts integer not null,  -- HTTP attempts made, retries and the repair request included
    latency_ms double not null,  -- wall time of the calls in milliseconds, retries and backoff waits included
    input_tokens bigint not null,  -- prompt tokens the provider reported, over all calls
    output_tokens bigint not null,  -- completion tokens the provider reported, over all calls
    cost_usd double not null,  -- cost in USD by litellm's or the configured prices (0 for the local heuristic judge)
    created_at timestamptz not null  -- when the result was written to the cache
)
