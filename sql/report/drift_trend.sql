-- drift per month, judge version, dimension and method
select strftime(month, '%Y-%m') as month, judge_version, dimension, method, shift, drifted
from judge_drift
order by judge_version, method, dimension, month
