-- The first `quota` requests of each (experiment, variant, stratum) by a seeded md5.
insert into experiment_samples
with ranked as (
    select experiment_id, variant,
           array_to_string(list_transform($strata, lambda d: coalesce(metadata ->> ('$.' || d), '(none)')), '|') as stratum,
           request_id, user_id, "timestamp", messages, response, metadata,
           row_number() over (partition by experiment_id, variant,
               array_to_string(list_transform($strata, lambda d: coalesce(metadata ->> ('$.' || d), '(none)')), '|')
               order by md5($seed || request_id)) as rank
    from clean_logs
    where log_date >= $start and log_date < $end and experiment_id is not null and variant is not null
)
select $start, r.experiment_id, r.variant, r.stratum, r.request_id, r.user_id, r."timestamp", r.messages, r.response, r.metadata
from ranked r
join sample_quotas q using (experiment_id, variant, stratum)
where r.rank <= q.quota
