create table if not exists clean_logs (
    log_date date not null,  -- partition day: the UTC day of `timestamp`, as in raw_logs
    request_id varchar not null,  -- the raw_logs request_id, unchanged (unique per day)
    "timestamp" timestamptz not null,  -- when the response was served, in UTC
    user_id varchar not null,  -- HMAC-SHA256 pseudonym of the logged user_id ('user_' + 20 hex digits, keyed by EVALFUNNEL_PII_SALT)
    session_id varchar,  -- HMAC-SHA256 pseudonym of the logged session_id ('session_' + 20 hex digits); null when none was logged
    messages struct(role varchar, content varchar)[] not null,  -- the conversation with every content scrubbed: PII becomes a typed placeholder <TYPE_8hex>
    response varchar not null,  -- the answer, scrubbed of PII; possibly empty
    model varchar,  -- the serving model, as logged
    prompt_version varchar,  -- the prompt version, as logged
    experiment_id varchar,  -- the experiment the request was served in, as logged; null outside experiments
    variant varchar,  -- the experiment arm, as logged; null outside experiments
    latency_ms double,  -- response latency in milliseconds, as logged
    cost_usd double,  -- cost of the request in USD, as logged
    input_tokens bigint,  -- prompt tokens, as logged
    output_tokens bigint,  -- completion tokens, as logged
    feedback struct(thumbs tinyint, regenerated boolean, copied boolean, edited_response varchar),  -- the user's feedback as in raw_logs (thumbs -1, 0, 1),
                                                                                                  -- with edited_response scrubbed of PII; null when none was logged
    metadata json,  -- the logged metadata object with its keys and values scrubbed of PII; string values are slice dimensions
    extra json,  -- fields outside the input contract (raw_logs.extra), scrubbed of PII; null when none
    cleaned_at timestamptz not null  -- when the clean_logs run wrote the row
)
