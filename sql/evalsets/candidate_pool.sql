-- Eval-set candidates from a window of clean_logs, one row per (kind, group) a request
-- qualifies for, ranked within the group by a seeded md5 (stable across DuckDB versions) and
-- cut to $pool_per_group. Groups: strata for head, reasons for known failures and edge cases.
with base as (
    select request_id, "timestamp", messages, response, metadata, feedback,
           array_to_string(list_transform($strata, lambda d: coalesce(metadata ->> ('$.' || d), '(none)')), '|') as stratum,
           list_filter(messages, lambda m: m.role = 'user') as user_turns
    from clean_logs
    where log_date >= $start and log_date < $end
),
features as (
    select *,
        coalesce(user_turns[-1].content, '') as query,
        -- what near-duplicate detection compares: the whole user side of the conversation
        array_to_string(list_transform(user_turns, lambda m: m.content), ' / ') as user_text,
        list_sum(list_transform(user_turns, lambda m: length(m.content))) as input_chars,
        case when feedback.edited_response is not null and length(response) > 0 then
            levenshtein(left(response, 1000), left(feedback.edited_response, 1000))
            / greatest(length(left(response, 1000)), length(left(feedback.edited_response, 1000)), 1)
        end as edit_ratio
    from base
),
grouped as (
    select 'known_failure' as kind, 0 as kind_order, 'thumbs_down' as grp, * from features where feedback.thumbs = -1
    union all select 'known_failure', 0, 'regenerated', * from features where feedback.regenerated
    union all select 'known_failure', 0, 'heavily_edited', * from features where edit_ratio >= $heavy_edit_ratio
    union all select 'edge_case', 1, 'long_input', * from features where input_chars >= $long_input_chars
    union all select 'edge_case', 1, 'multi_turn', * from features where len(user_turns) > 1
    union all select 'edge_case', 1, 'non_english', * from features
        where regexp_matches(query, '[^\x00-\x7F]')
           or regexp_matches(lower(query), '\b(wie|ich|und|der|das|cómo|qué|mi|una|comment|est|pour|les|une)\b')
    union all select 'edge_case', 1, 'empty_response', * from features where trim(response) = ''
    union all select 'edge_case', 1, 'refusal', * from features
        where regexp_matches(response, '(?i)\b(can''t|cannot|can not|won''t|unable to) (help|assist|comply|do that)')
    union all select 'head', 2, stratum, * from features
)
select kind, kind_order, grp, request_id, "timestamp", messages, query, user_text, response, cast(metadata as varchar) as metadata,
       stratum, row_number() over (partition by kind, grp order by md5($seed || request_id)) as rank
from grouped
qualify rank <= $pool_per_group
