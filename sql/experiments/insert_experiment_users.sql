insert into experiment_users
select experiment_id, user_id, variant, exposure_at from experiment_users_raw
