-- one bucket's event metric rows (pipeline/experiments/windows.py), into the table that replaces
-- user_metrics (analysis.py)
insert into user_metrics_next
select experiment_id, user_id, variant, exposure_at, metric, value, denominator, pre_value, pre_denominator
from bucket_metrics
