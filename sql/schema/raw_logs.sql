create table if not exists raw_logs (
    log_date date not null,  -- partition day: the UTC day of `timestamp`
    request_id varchar not null,  -- the interaction's id as logged (numbers kept as text); unique per day, a duplicate keeps the earliest by (timestamp, file, line)
    "timestamp" timestamptz not null,  -- when the response was served, in UTC (RFC 3339, or epoch seconds or milliseconds in the source)
    user_id varchar not null,  -- the user as logged, the randomization unit (pseudonymized in clean_logs)
    session_id varchar,  -- the session as logged, optional (pseudonymized in clean_logs)
    messages struct(role varchar, content varchar)[] not null,  -- the conversation, role in system, user, assistant, tool; a logged `query` becomes one user message
    response varchar not null,  -- the assistant's answer, possibly empty
    model varchar,  -- the model that served the request, as logged (optional)
    prompt_version varchar,  -- the prompt version that served the request, as logged (optional)
    experiment_id varchar,  -- the experiment the request was served in, as logged; null outside experiments
    variant varchar,  -- the experiment arm that served the request, as logged; null outside experiments
    latency_ms double,  -- response latency in milliseconds, 0 to 86,400,000 (optional)
    cost_usd double,  -- cost of the request in USD, 0 to 10,000 (optional)
    input_tokens bigint,  -- prompt tokens, an integer from 0 to 10^8 (optional)
    output_tokens bigint,  -- completion tokens, an integer from 0 to 10^8 (optional)
    feedback struct(thumbs tinyint, regenerated boolean, copied boolean, edited_response varchar),  -- the user's feedback: thumbs -1, 0, 1 or null,
                                                                                                  -- regenerated and copied flags, and the user's edit of the answer; null when none was logged
    metadata json,  -- free-form JSON object as logged; its string values are slice dimensions (topic, segment, device, ...)
    extra json,  -- fields outside the input contract, kept as a JSON object as they came; null when none
    source_file varchar not null,  -- the file the record came from, relative to the source directory
    source_line bigint not null,  -- its line (JSONL) or data row (CSV, Parquet: 1 = the first row after the header)
    ingested_at timestamptz not null  -- when the ingest run loaded the row
)
