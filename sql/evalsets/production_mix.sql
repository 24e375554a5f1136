-- Requests per stratum (slice dimensions from metadata) in a window of clean_logs.
select array_to_string(list_transform($strata, lambda d: coalesce(metadata ->> ('$.' || d), '(none)')), '|') as stratum,
       count(*) as n
from clean_logs
where log_date >= $start and log_date < $end
group by stratum
order by stratum
