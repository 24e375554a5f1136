-- Turn raw lines (one JSON text per record) into typed log records plus the reasons a record
-- breaks the contract. Input relation: `lines` (source_file, line_no, text, read_error).
-- Every check runs on every row; a record is rejected when any problem is found, and the
-- reason lists all of them, so a user fixes a file in one pass.
with parsed as (
    -- one parse per record: every contract field as a small JSON fragment (NULL when absent);
    -- try() turns invalid JSON into NULL instead of an error
    select source_file, line_no, text, read_error,
           case when read_error is null then try(json_extract(text, [
               '$', '$.request_id', '$.timestamp', '$.user_id', '$.session_id', '$.messages', '$.query',
               '$.response', '$.model', '$.prompt_version', '$.experiment_id', '$.variant', '$.latency_ms',
               '$.cost_usd', '$.input_tokens', '$.output_tokens', '$.feedback', '$.metadata'])) end as v
    from lines
),
fields as (
    select source_file, line_no, text, read_error,
        v is not null as is_json,
        case when v is not null then json_type(v[1]) end as j_type,
        v[2] as request_id_j, v[3] as ts_j, v[4] as user_id_j, v[5] as session_id_j,
        -- CSV cells and some exporters carry nested values as JSON text: unwrap them
        case when json_type(v[6]) = 'VARCHAR' and json_valid(v[6] ->> '$') then (v[6] ->> '$')::json else v[6] end as messages_j,
        v[7] as query_j, v[8] as response_j, v[9] as model_j, v[10] as prompt_version_j,
        v[11] as experiment_id_j, v[12] as variant_j, v[13] as latency_j, v[14] as cost_j,
        v[15] as input_tokens_j, v[16] as output_tokens_j,
        case when json_type(v[17]) = 'VARCHAR' and json_valid(v[17] ->> '$') then (v[17] ->> '$')::json else v[17] end as feedback_j,
        case when json_type(v[18]) = 'VARCHAR' and json_valid(v[18] ->> '$') then (v[18] ->> '$')::json else v[18] end as metadata_j,
        case when v is not null and json_type(v[1]) = 'OBJECT' then
            list_filter(json_keys(text), lambda k: not list_contains($known_fields, k)) end as extra_keys
    from parsed
),
typed as (
    select *,
        json_type(ts_j) as ts_type,
        ts_j ->> '$' as ts_text,
        case when json_type(request_id_j) in ('VARCHAR', 'BIGINT', 'UBIGINT') then nullif(trim(request_id_j ->> '$'), '') end as request_id,
        case when json_type(user_id_j) in ('VARCHAR', 'BIGINT', 'UBIGINT') then nullif(trim(user_id_j ->> '$'), '') end as user_id,
        case when json_type(session_id_j) in ('VARCHAR', 'BIGINT', 'UBIGINT') then session_id_j ->> '$' end as session_id,
        case when json_type(messages_j) = 'ARRAY'
             then try(json_transform(messages_j, '[{"role": "VARCHAR", "content": "VARCHAR"}]')) end as messages_v,
        case when json_type(query_j) = 'VARCHAR' then query_j ->> '$' end as query,
        case when json_type(response_j) = 'VARCHAR' then response_j ->> '$' end as response,
        try_cast(latency_j ->> '$' as double) as latency_ms,
        try_cast(cost_j ->> '$' as double) as cost_usd,
        try_cast(input_tokens_j ->> '$' as double) as input_tokens_d,
        try_cast(output_tokens_j ->> '$' as double) as output_tokens_d,
        json_type(feedback_j) as fb_type,
        json_type(feedback_j, '$.thumbs') as thumbs_type,
        try_cast(feedback_j ->> '$.thumbs' as double) as thumbs_d,
        json_type(feedback_j, '$.regenerated') as regen_type,
        json_type(feedback_j, '$.copied') as copied_type,
        json_type(feedback_j, '$.edited_response') as edited_type
    from fields
),
typed_ts as (
    select *,
        case
            when ts_type in ('BIGINT', 'UBIGINT', 'DOUBLE') then try_cast(make_timestamp(try_cast(try_cast(ts_text as double) * 1000 as bigint)) as timestamptz)
            when ts_type = 'VARCHAR' and regexp_full_match(ts_text, '\d{10,13}') then
                make_timestamp(case when length(ts_text) = 13 then ts_text::bigint * 1000 else ts_text::bigint * 1000000 end)::timestamptz
            when ts_type = 'VARCHAR' then try_cast(ts_text as timestamptz)
        end as ts
    from typed
),
checked as (
    select *,
        concat_ws('; ',
            case when read_error is not null then read_error end,
            case when read_error is null and not is_json then 'not valid JSON' end,
            case when is_json and j_type <> 'OBJECT' then 'record is a JSON ' || lower(j_type) || ', not an object' end,
            case when j_type = 'OBJECT' and request_id is null then 'request_id: ' ||
                 case when request_id_j is null or json_type(request_id_j) = 'NULL' then 'missing' else 'must be a non-empty string' end end,
            case when j_type = 'OBJECT' and ts is null then 'timestamp: ' ||
                 case when ts_type is null or ts_type = 'NULL' then 'missing' else 'not RFC 3339 or epoch milliseconds: ' || left(ts_text, 40) end end,
            case when j_type = 'OBJECT' and user_id is null then 'user_id: ' ||
                 case when user_id_j is null or json_type(user_id_j) = 'NULL' then 'missing' else 'must be a non-empty string' end end,
            case when j_type = 'OBJECT' and messages_j is not null and json_type(messages_j) <> 'NULL' and (
                     messages_v is null or len(messages_v) = 0
                     or not list_bool_and(list_transform(messages_v, lambda m: m.role in ('system', 'user', 'assistant', 'tool') and m.content is not null)))
                 then 'messages: must be a non-empty list of {role, content} with role in system, user, assistant, tool' end,
            case when j_type = 'OBJECT' and messages_v is null and query is null and (messages_j is null or json_type(messages_j) = 'NULL')
                 then 'messages/query: one of them is required' end,
            case when j_type = 'OBJECT' and response is null then 'response: ' ||
                 case when response_j is null or json_type(response_j) = 'NULL' then 'missing (use "" for an empty answer)' else 'must be a string' end end,
            case when j_type = 'OBJECT' and json_type(latency_j) <> 'NULL' and (latency_ms is null or latency_ms < 0)
                 then 'latency_ms: must be a non-negative number, got ' || left(latency_j ->> '$', 40) end,
            case when j_type = 'OBJECT' and json_type(cost_j) <> 'NULL' and (cost_usd is null or cost_usd < 0)
                 then 'cost_usd: must be a non-negative number, got ' || left(cost_j ->> '$', 40) end,
            case when j_type = 'OBJECT' and json_type(input_tokens_j) <> 'NULL'
                      and (input_tokens_d is null or input_tokens_d < 0 or input_tokens_d <> floor(input_tokens_d))
                 then 'input_tokens: must be a non-negative integer, got ' || left(input_tokens_j ->> '$', 40) end,
            case when j_type = 'OBJECT' and json_type(output_tokens_j) <> 'NULL'
                      and (output_tokens_d is null or output_tokens_d < 0 or output_tokens_d <> floor(output_tokens_d))
                 then 'output_tokens: must be a non-negative integer, got ' || left(output_tokens_j ->> '$', 40) end,
            case when j_type = 'OBJECT' and fb_type is not null and fb_type not in ('OBJECT', 'NULL') then 'feedback: must be an object' end,
            case when fb_type = 'OBJECT' and thumbs_type is not null and thumbs_type <> 'NULL' and (thumbs_d is null or thumbs_d not in (-1, 0, 1))
                 then 'feedback.thumbs: must be -1, 0, 1 or null, got ' || left(feedback_j ->> '$.thumbs', 40) end,
            case when fb_type = 'OBJECT' and regen_type is not null and regen_type not in ('BOOLEAN', 'NULL') then 'feedback.regenerated: must be true or false' end,
            case when fb_type = 'OBJECT' and copied_type is not null and copied_type not in ('BOOLEAN', 'NULL') then 'feedback.copied: must be true or false' end,
            case when fb_type = 'OBJECT' and edited_type is not null and edited_type not in ('VARCHAR', 'NULL') then 'feedback.edited_response: must be a string' end,
            case when j_type = 'OBJECT' and metadata_j is not null and json_type(metadata_j) not in ('OBJECT', 'NULL') then 'metadata: must be an object' end
        ) as problems
    from typed_ts
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
    cast(timezone('UTC', ts) as date) as ts_date,
    user_id,
    session_id,
    case when problems = '' then coalesce(messages_v, [{'role': 'user', 'content': query}]) end as messages,
    response,
    model_j ->> '$' as model,
    prompt_version_j ->> '$' as prompt_version,
    experiment_id_j ->> '$' as experiment_id,
    variant_j ->> '$' as variant,
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
