create table if not exists candidate_responses (
    item_id varchar not null,  -- the item answered: an eval-set item (request id), a regression case_id, or an item the imported file defines
    variant varchar not null,  -- the candidate: a name in candidates.yaml (generated) or the variant in candidate_responses/ (imported)
    messages struct(role varchar, content varchar)[] not null,  -- the prompt: the item's conversation without system turns (generated), or as imported, else taken from the eval or regression set
    response varchar not null,  -- the candidate's answer
    latency_ms double,  -- generation latency in milliseconds; for imported rows as given (optional)
    cost_usd double,  -- generation cost in USD; for imported rows as given (optional)
    input_tokens bigint,  -- prompt tokens; for imported rows as given (optional)
    output_tokens bigint,  -- completion tokens; for imported rows as given (optional)
    origin varchar not null,  -- imported (the source's candidate_responses/) or generated (from candidates.yaml, via generation_cache)
    loaded_at timestamptz not null  -- when the row was stored
)
