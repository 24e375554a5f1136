-- the built-in feedback metrics from clean_logs, per (experiment, user): request-level
-- numerators and denominators after exposure (to the experiment's end) and in the
-- pre_period_days before it
insert into user_metrics
with req as (
    select u.experiment_id, u.user_id, u.variant, u.exposure_at,
           l."timestamp" >= u.exposure_at as post,
           (l.feedback.thumbs = -1)::int as thumbs_down,
           (l.feedback.thumbs = 1)::int as thumbs_up,
           coalesce(l.feedback.regenerated, false)::int as regenerated,
           coalesce(l.feedback.copied, false)::int as copied,
           case when l.feedback.edited_response is not null
                then levenshtein(l.response, l.feedback.edited_response)
                     / greatest(length(l.response), length(l.feedback.edited_response), 1) end as edit_ratio,
           l.cost_usd, l.latency_ms
    from experiment_users u
    join exp_specs s on s.experiment_id = u.experiment_id
    join clean_logs l on l.user_id = u.user_id
    where l."timestamp" >= u.exposure_at - to_days(s.pre_days)
      and l."timestamp" < (s.end_date + 1)::timestamptz
      and u.experiment_id in (select experiment_id from exp_log_metrics)
),
per_user as (
    select experiment_id, user_id, post,
           count(*) as requests,
           sum(thumbs_down) as thumbs_down, sum(thumbs_up) as thumbs_up,
           sum(regenerated) as regenerated, sum(copied) as copied,
           sum(edit_ratio) as edit_sum, count(edit_ratio) as edited,
           sum(cost_usd) as cost, count(cost_usd) as costed,
           sum(latency_ms) as latency, count(latency_ms) as timed
    from req
    group by experiment_id, user_id, post
),
long as (
    select experiment_id, user_id, post, m.metric, m.num, m.den
    from (select experiment_id, user_id, post, unnest([
        {'metric': 'thumbs_down_rate', 'num': thumbs_down::double, 'den': requests::double},
        {'metric': 'thumbs_up_rate', 'num': thumbs_up::double, 'den': requests::double},
        {'metric': 'regenerate_rate', 'num': regenerated::double, 'den': requests::double},
        {'metric': 'copy_rate', 'num': copied::double, 'den': requests::double},
        {'metric': 'edit_ratio', 'num': coalesce(edit_sum, 0), 'den': edited::double},
        {'metric': 'cost_per_request', 'num': coalesce(cost, 0), 'den': costed::double},
        {'metric': 'latency_ms', 'num': coalesce(latency, 0), 'den': timed::double}
    ]) as m from per_user)
)
select u.experiment_id, u.user_id, u.variant, u.exposure_at, m.metric,
       coalesce(post.num, 0), coalesce(post.den, 0), coalesce(pre.num, 0), coalesce(pre.den, 0)
from experiment_users u
join exp_log_metrics m on m.experiment_id = u.experiment_id
left join long post on post.experiment_id = u.experiment_id and post.user_id = u.user_id
                    and post.metric = m.metric and post.post
left join long pre on pre.experiment_id = u.experiment_id and pre.user_id = u.user_id
                   and pre.metric = m.metric and not pre.post
