-- each user's slice values: the metadata of their first logged request from exposure on
insert into user_segments
with first_request as (
    select u.experiment_id, u.user_id, arg_min(l.metadata, l."timestamp") as metadata
    from experiment_users u
    join exp_specs s on s.experiment_id = u.experiment_id
    join clean_logs l on l.user_id = u.user_id
    where l."timestamp" >= u.exposure_at and l."timestamp" < (s.end_date + 1)::timestamptz
    group by u.experiment_id, u.user_id
)
select f.experiment_id, f.user_id, d.dimension, json_extract_string(f.metadata, '$."' || d.dimension || '"') as value
from first_request f
join exp_segments d on d.experiment_id = f.experiment_id
where json_extract_string(f.metadata, '$."' || d.dimension || '"') is not null
