-- the calibration fits of quarter $quarter, per judge version, dimension and metric
select judge_version, dimension, metric, n, slope, intercept, residual_sd, status
from offline_online_correlation
where kind = 'experiment' and slope is not null and quarter = $quarter::date
