create table if not exists eval_set (
    quarter date not null,  -- the quarter partition (its first day); items are drawn from the lookback_days (default 90) of clean_logs before its end
    version_id varchar not null,  -- the eval-set version the item belongs to (eval_set_versions.version_id)
    item_id varchar not null,  -- the logged request's request_id in clean_logs
    kind varchar not null,  -- head, known_failure or edge_case
    stratum varchar not null,  -- the request's values of the strata dimensions (metadata, default topic) joined by '|'; '(none)' where missing
    reason varchar not null,  -- why it was drawn: 'production mix' for head items, else its group: thumbs_down, regenerated, heavily_edited,
                              -- long_input, multi_turn, non_english, empty_response or refusal
    messages struct(role varchar, content varchar)[] not null,  -- the anonymized conversation from clean_logs (names also scrubbed by NER when configured)
    query varchar not null,  -- the last user turn ('' when none)
    response varchar not null,  -- the logged (anonymized) answer
    metadata json,  -- the request's metadata from clean_logs
    source_timestamp timestamptz,  -- when the logged request was served, UTC
    built_at timestamptz not null  -- when the quarter's eval set was built
)
