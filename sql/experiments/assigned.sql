-- one row per (experiment, raw user): how many variants, first assignment, and where it falls
create or replace temp table assigned as
select a.experiment_id, a.user_id,
       count(distinct a.variant) as n_variants,
       min(a.assigned_at) as exposure_at,
       min(a.variant) as variant,
       bool_or(a.variant not in (select v.variant from exp_variants v where v.experiment_id = a.experiment_id))
           as unknown_variant,
       any_value(s.start_date) as start_date,
       any_value(s.end_date) as end_date
from src_assignments a
join exp_specs s using (experiment_id)
where a.valid
group by a.experiment_id, a.user_id
