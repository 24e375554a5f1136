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
-- one row per (experiment user, window) with the window's bounds in epoch microseconds:
-- whole-day arithmetic on integers, where timestamptz arithmetic goes through the calendar
uw as (
    select u.uid, u.experiment_id, u.raw_user_id, w.window_days,
           epoch_us(u.exposure_at) as exposed,
           epoch_us(u.exposure_at) - w.window_days * 86400000000 as lo,
           least(epoch_us(u.exposure_at) + w.window_days * 86400000000,
                 epoch_us((u.end_date + 1)::timestamptz)) as hi
    from experiment_users_raw u
    join (select distinct experiment_id, window_days from wanted) w on w.experiment_id = u.experiment_id
),
ev as (
    select e.user_id, epoch_us(e."timestamp") as ts, e.event, coalesce(e.value, 1.0) as value
    from src_events e
    where e.valid and e.event in (select event from wanted)
),
-- events join their user's windows on the user alone (a small build side); the window and
-- the experiment's wanted events are plain filters
hits as (
    select uw.uid, ev.event, uw.window_days,
           count(*) filter (where ev.ts >= uw.exposed) as n_post,
           sum(ev.value) filter (where ev.ts >= uw.exposed) as v_post,
           count(*) filter (where ev.ts < uw.exposed) as n_pre,
           sum(ev.value) filter (where ev.ts < uw.exposed) as v_pre
    from uw
    join ev on ev.user_id = uw.raw_user_id
    where ev.ts >= uw.lo and ev.ts < uw.hi
      and (uw.experiment_id, ev.event, uw.window_days) in (select * from wanted)
    group by uw.uid, ev.event, uw.window_days
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
left join hits num on num.uid = u.uid and num.event = m.event and num.window_days = m.window_days
left join hits den on den.uid = u.uid and den.event = m.denominator and den.window_days = m.window_days
