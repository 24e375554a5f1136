-- event metrics per (experiment, user, metric): after exposure up to the window or the
-- experiment's end, and over the same window before exposure (the CUPED covariate).
-- Events are joined to users once per (experiment, event, window), not once per metric.
insert into user_metrics
with wanted as (
    select distinct experiment_id, event, window_days from (
        select experiment_id, event, window_days from exp_metrics
        union all
        select experiment_id, denominator, window_days from exp_metrics where denominator is not null)
),
ev as (
    select e.user_id, e."timestamp" as ts, e.event, coalesce(e.value, 1.0) as value
    from src_events e
    where e.valid and e.event in (select event from wanted)
),
hits as (
    select u.experiment_id, u.user_id, w.event, w.window_days,
           count(*) filter (where ev.ts >= u.exposure_at) as n_post,
           sum(ev.value) filter (where ev.ts >= u.exposure_at) as v_post,
           count(*) filter (where ev.ts < u.exposure_at) as n_pre,
           sum(ev.value) filter (where ev.ts < u.exposure_at) as v_pre
    from experiment_users_raw u
    join ev on ev.user_id = u.raw_user_id
    join wanted w on w.experiment_id = u.experiment_id and w.event = ev.event
    where ev.ts >= u.exposure_at - to_days(w.window_days)
      and ev.ts < least(u.exposure_at + to_days(w.window_days), (u.end_date + 1)::timestamptz)
    group by u.experiment_id, u.user_id, w.event, w.window_days
)
select u.experiment_id, u.user_id, u.variant, u.exposure_at, m.metric,
       case m.kind when 'binary' then (coalesce(num.n_post, 0) > 0)::double
                   when 'sum' then coalesce(num.v_post, 0)
                   else coalesce(num.n_post, 0)::double end,
       case m.kind when 'ratio' then coalesce(den.n_post, 0)::double else 1.0 end,
       case m.kind when 'binary' then (coalesce(num.n_pre, 0) > 0)::double
                   when 'sum' then coalesce(num.v_pre, 0)
                   else coalesce(num.n_pre, 0)::double end,
       case m.kind when 'ratio' then coalesce(den.n_pre, 0)::double else 1.0 end
from experiment_users_raw u
join exp_metrics m on m.experiment_id = u.experiment_id
left join hits num on num.experiment_id = u.experiment_id and num.user_id = u.user_id
                   and num.event = m.event and num.window_days = m.window_days
left join hits den on den.experiment_id = u.experiment_id and den.user_id = u.user_id
                   and den.event = m.denominator and den.window_days = m.window_days
