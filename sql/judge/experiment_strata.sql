-- Requests per (experiment, variant, stratum) in a month of clean_logs.
select experiment_id, variant,
       array_to_string(list_transform($strata, lambda d: coalesce(metadata ->> ('$.' || d), '(none)')), '|') as stratum,
       count(*) as n
from clean_logs
where log_date >= $start and log_date < $end and experiment_id is not null and variant is not null
group by all
order by all
