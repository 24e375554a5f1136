-- the valid assignment rows with the hash of their user: analysis.py splits them into hash
-- buckets of users (one Arrow file per bucket) and works one bucket at a time, so that every
-- step's hash tables hold one bucket's users and fit in memory however many users there are
select hash(user_id) as user_hash, experiment_id, user_id, variant, assigned_at
from src_assignments
where valid
