-- Turn raw lines (one JSON text per record) into typed log records plus the reasons a record
-- breaks the contract. Input relation: `lines` (source_file, line_no, text, read_error).
-- Every check runs on every row; a record is rejected when any problem is found, and the
-- reason lists all of them, so a user fixes a file in one pass.
--
-- Speed: each record is parsed three times, never serialized back into JSON fragments:
-- json_type over all contract paths at once (its failure means invalid JSON), one typed
-- json_transform for the values, and json_keys for unknown fields.
with parsed as (
    select source_file, line_no, text, read_error,
           case when read_error is null then try(json_type(text, [
               '$', '$.request_id', '$.timestamp', '$.user_id', '$.session_id', '$.messages', '$.query',
               '$.response', '$.latency_ms', '$.cost_usd', '$.input_tokens', '$.output_tokens', '$.feedback',
               '$.metadata'])) end as ty
    from lines
),
fields as (
    select source_file, line_no, text, read_error,
        ty is not null as is_json,
        ty[1] as j_type,
        ty[2] as request_id_type, ty[3] as ts_type, ty[4] as user_id_type, ty[5] as session_id_type,
        ty[6] as messages_type, ty[7] as query_type, ty[8] as response_type, ty[9] as latency_type,
        ty[10] as cost_type, ty[11] as input_tokens_type, ty[12] as output_tokens_type,
        ty[13] as feedback_raw_type, ty[14] as metadata_raw_type,
        case when ty[1] = 'OBJECT' then json_transform(text, '{
            "request_id": "VARCHAR", "timestamp": "VARCHAR", "user_id": "VARCHAR", "session_id": "VARCHAR",
            "messages": [{"role": "VARCHAR", "content": "VARCHAR"}], "query": "VARCHAR", "response": "VARCHAR",
            "model": "VARCHAR", "prompt_version": "VARCHAR", "experiment_id": "VARCHAR", "variant": "VARCHAR",
            "latency_ms": "VARCHAR", "cost_usd": "VARCHAR", "input_tokens": "VARCHAR", "output_tokens": "VARCHAR",
            "feedback": "JSON", "metadata": "JSON"}') end as r,
        case when ty[1] = 'OBJECT' then
            list_filter(json_keys(text), lambda k: not list_contains($known_fields, k)) end as extra_keys,
        -- the typed transform gives NULL for a list held as text; keep the text for unwrapping
        case when ty[6] = 'VARCHAR' then text ->> '$.messages' end as messages_text
    from parsed
),
unwrapped as (
    select *,
        -- CSV cells and some exporters carry nested values as JSON text: unwrap them (rare rows)
        case when json_valid(messages_text) then json_type(messages_text) else messages_type end as messages_j_type,
        case when messages_type = 'ARRAY' then r.messages
             when json_valid(messages_text) and json_type(messages_text) = 'ARRAY'
             then json_transform(messages_text, '[{"role": "VARCHAR", "content": "VARCHAR"}]') end as messages_v,
        case when feedback_raw_type = 'VARCHAR' and json_valid(r.feedback ->> '$') then (r.feedback ->> '$')::json else r.feedback end as feedback_j,
        case when metadata_raw_type = 'VARCHAR' and json_valid(r.metadata ->> '$') then (r.metadata ->> '$')::json else r.metadata end as metadata_j
    from fields
),
typed as (
    select *,
        case when request_id_type in ('VARCHAR', 'BIGINT', 'UBIGINT') then nullif(trim(r.request_id, $id_space), '') end as request_id,  -- whitespace, Unicode spaces, zero-width
        case when user_id_type in ('VARCHAR', 'BIGINT', 'UBIGINT') then nullif(trim(r.user_id, $id_space), '') end as user_id,
        case when session_id_type in ('VARCHAR', 'BIGINT', 'UBIGINT') then nullif(trim(r.session_id, $id_space), '') end as session_id,
        case when query_type = 'VARCHAR' then r.query end as query,
        case when response_type = 'VARCHAR' then r.response end as response,
        r."timestamp" as ts_text,
        try_cast(r.latency_ms as double) as latency_ms,
        try_cast(r.cost_usd as double) as cost_usd,
        try_cast(r.input_tokens as double) as input_tokens_d,
        try_cast(r.output_tokens as double) as output_tokens_d,
        json_type(feedback_j) as fb_type,
        json_type(feedback_j, '$.thumbs') as thumbs_type,
        try_cast(feedback_j ->> '$.thumbs' as double) as thumbs_d,
        json_type(feedback_j, '$.regenerated') as regen_type,
        json_type(feedback_j, '$.copied') as copied_type,
        json_type(feedback_j, '$.edited_response') as edited_type
    from unwrapped
),
typed_ts as (
    select *,
        case
            -- epoch numbers: below 10^11 seconds (10 digits), else milliseconds, as for digits in text
            when ts_type in ('BIGINT', 'UBIGINT', 'DOUBLE') then try_cast(make_timestamp(try_cast(
                try_cast(ts_text as double) * (case when abs(try_cast(ts_text as double)) < 1e11 then 1000000 else 1000 end)
                as bigint)) as timestamptz)
            when ts_type = 'VARCHAR' and regexp_full_match(ts_text, '\d{10,13}') then
                make_timestamp(case when length(ts_text) = 13 then ts_text::bigint * 1000 else ts_text::bigint * 1000000 end)::timestamptz
            when ts_type = 'VARCHAR' then try_cast(ts_text as timestamptz)
        end as ts
    from typed
),
ranged as (
    -- a timestamp outside the accepted range is a reject, filed like an undated one
    select *, ts is not null and (ts < $ts_min or ts > $ts_max) as ts_out_of_range
    from typed_ts
),
checked as (
    select *,
        concat_ws('; ',
            case when read_error is not null then read_error end,
            case when read_error is null and not is_json then 'not valid JSON' end,
            case when is_json and j_type <> 'OBJECT' then 'record is a JSON ' || lower(j_type) || ', not an object' end,
            case when j_type = 'OBJECT' and request_id is null then 'request_id: ' ||
                 case when coalesce(request_id_type, 'NULL') = 'NULL' then 'missing'
                      when request_id_type in ('VARCHAR', 'BIGINT', 'UBIGINT') then 'must not be empty'
                      when request_id_type = 'DOUBLE' then 'must be a string or a whole number within 64 bits (send a larger '
                           || 'or fractional id as a string)'
                      else 'must be a string or a whole number, not a JSON ' || lower(request_id_type) end end,
            case when j_type = 'OBJECT' and ts is null then 'timestamp: ' ||
                 case when coalesce(ts_type, 'NULL') = 'NULL' then 'missing' else 'not RFC 3339 or epoch milliseconds: ' || left(ts_text, 40) end end,
            case when ts_out_of_range then 'timestamp: ' || strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%SZ')
                 || ' is outside the accepted range ' || strftime(timezone('UTC', $ts_min::timestamptz), '%Y-%m-%d') || ' to '
                 || strftime(timezone('UTC', $ts_max::timestamptz), '%Y-%m-%d') || ' (EVALFUNNEL_LOGS_SINCE sets the start; the end is a day after ingestion)' end,
            case when j_type = 'OBJECT' and user_id is null then 'user_id: ' ||
                 case when coalesce(user_id_type, 'NULL') = 'NULL' then 'missing'
                      when user_id_type in ('VARCHAR', 'BIGINT', 'UBIGINT') then 'must not be empty'
                      when user_id_type = 'DOUBLE' then 'must be a string or a whole number within 64 bits (send a larger '
                           || 'or fractional id as a string)'
                      else 'must be a string or a whole number, not a JSON ' || lower(user_id_type) end end,
            case when j_type = 'OBJECT' and coalesce(messages_j_type, 'NULL') <> 'NULL' and (
                     messages_v is null or len(messages_v) = 0
                     or not list_bool_and(list_transform(messages_v, lambda m: m.role in ('system', 'user', 'assistant', 'tool') and m.content is not null)))
                 then 'messages: must be a non-empty list of {role, content} with role in system, user, assistant, tool' end,
            case when j_type = 'OBJECT' and messages_v is null and query is null and coalesce(messages_j_type, 'NULL') = 'NULL'
                 then 'messages/query: one of them is required' end,
            case when j_type = 'OBJECT' and response is null then 'response: ' ||
                 case when coalesce(response_type, 'NULL') = 'NULL' then 'missing (use "" for an empty answer)' else 'must be a string' end end,
            -- NaN, infinities and values beyond the contract's limits are rejects, never NULLs
            case when j_type = 'OBJECT' and latency_type <> 'NULL'
                      and (latency_ms is null or not isfinite(latency_ms) or latency_ms < 0 or latency_ms > $max_latency_ms)
                 then 'latency_ms: must be a finite number from 0 to ' || $max_latency_ms::bigint || ', got ' || left(r.latency_ms, 40) end,
            case when j_type = 'OBJECT' and cost_type <> 'NULL'
                      and (cost_usd is null or not isfinite(cost_usd) or cost_usd < 0 or cost_usd > $max_cost_usd)
                 then 'cost_usd: must be a finite number from 0 to ' || $max_cost_usd::bigint || ', got ' || left(r.cost_usd, 40) end,
            case when j_type = 'OBJECT' and input_tokens_type <> 'NULL'
                      and (input_tokens_d is null or not isfinite(input_tokens_d) or input_tokens_d < 0
                           or input_tokens_d > $max_input_tokens or input_tokens_d <> floor(input_tokens_d))
                 then 'input_tokens: must be an integer from 0 to ' || $max_input_tokens::bigint || ', got ' || left(r.input_tokens, 40) end,
            case when j_type = 'OBJECT' and output_tokens_type <> 'NULL'
                      and (output_tokens_d is null or not isfinite(output_tokens_d) or output_tokens_d < 0
                           or output_tokens_d > $max_output_tokens or output_tokens_d <> floor(output_tokens_d))
                 then 'output_tokens: must be an integer from 0 to ' || $max_output_tokens::bigint || ', got ' || left(r.output_tokens, 40) end,
            case when j_type = 'OBJECT' and fb_type is not null and fb_type not in ('OBJECT', 'NULL') then 'feedback: must be an object' end,
            case when fb_type = 'OBJECT' and thumbs_type is not null and thumbs_type <> 'NULL' and (thumbs_d is null or isnan(thumbs_d) or thumbs_d not in (-1, 0, 1))
                 then 'feedback.thumbs: must be -1, 0, 1 or null, got ' || left(feedback_j ->> '$.thumbs', 40) end,
            case when fb_type = 'OBJECT' and regen_type is not null and regen_type not in ('BOOLEAN', 'NULL') then 'feedback.regenerated: must be true or false' end,
            case when fb_type = 'OBJECT' and copied_type is not null and copied_type not in ('BOOLEAN', 'NULL') then 'feedback.copied: must be true or false' end,
            case when fb_type = 'OBJECT' and edited_type is not null and edited_type not in ('VARCHAR', 'NULL') then 'feedback.edited_response: must be a string' end,
            case when j_type = 'OBJECT' and metadata_j is not null and json_type(metadata_j) not in ('OBJECT', 'NULL') then 'metadata: must be an object' end
        ) as problems
    from ranged
)
select
    source_file,
    line_no,
    nullif(problems, '') as reject_reason,
    -- the first field named in the reason, for grouping rejects
    case when problems = '' then null
         when read_error is not null or not is_json or j_type <> 'OBJECT' then 'record'
         else split_part(split_part(problems, ';', 1), ':', 1) end as reject_field,
    case when problems <> '' then left(text, $max_raw_chars) end as raw,
    request_id,
    ts as "timestamp",
    case when not ts_out_of_range then cast(timezone('UTC', ts) as date) end as ts_date,
    user_id,
    session_id,
    case when problems = '' then coalesce(messages_v, [{'role': 'user', 'content': query}]) end as messages,
    response,
    r.model as model,
    r.prompt_version as prompt_version,
    r.experiment_id as experiment_id,
    r.variant as variant,
    latency_ms,
    cost_usd,
    try_cast(input_tokens_d as bigint) as input_tokens,
    try_cast(output_tokens_d as bigint) as output_tokens,
    case when fb_type = 'OBJECT' then {
        'thumbs': try_cast(thumbs_d as tinyint),
        'regenerated': try_cast(feedback_j ->> '$.regenerated' as boolean),
        'copied': try_cast(feedback_j ->> '$.copied' as boolean),
        'edited_response': feedback_j ->> '$.edited_response'
    } end as feedback,
    case when json_type(metadata_j) = 'OBJECT' then metadata_j end as metadata,
    -- unknown fields are rare: only their records pay for rebuilding them as one JSON object
    case when len(extra_keys) > 0 then
        to_json(map_from_entries(list_transform(extra_keys, lambda k: struct_pack(k := k, v := text -> k))))::json
    end as extra
from checked
