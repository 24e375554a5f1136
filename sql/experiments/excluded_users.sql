select experiment_id, sum(users)::bigint from assignment_issues
where issue in ('multiple_variants', 'unknown_variant', 'outside_window')
group by experiment_id
