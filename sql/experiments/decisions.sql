select experiment_id, decision from experiment_summary order by start_date
