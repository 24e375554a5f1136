select experiment_id, variant, count(*) from experiment_users group by experiment_id, variant
