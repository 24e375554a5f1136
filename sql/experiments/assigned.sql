-- one row per (experiment, raw user): whether it saw more than one variant, its first
-- assignment, and where that falls
create or replace temp table assigned as
select a.experiment_id, a.user_id,
       min(a.variant) <> max(a.variant) as multiple_variants,
       min(a.assigned_at) as exposure_at,
       min(a.variant) as variant,
       bool_or(v.variant is null) as unknown_variant,
       any_value(s.start_date) as start_date,
       any_value(s.end_date) as end_date
from src_assignments a
join exp_specs s using (experiment_id)
left join exp_variants v on v.experiment_id = a.experiment_id and v.variant = a.variant
where a.valid
group by a.experiment_id, a.user_id
