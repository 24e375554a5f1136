-- one bucket's analysed users (pipeline/experiments/exposure.py), into the table that replaces
-- experiment_users (analysis.py)
insert into experiment_users_next
select experiment_id, user_id, variant, exposure_at from bucket_users
