-- offline-online Spearman per quarter, judge version, dimension and metric (experiment pairs)
select strftime(quarter, '%Y-%m') as quarter, judge_version, dimension, metric, n, spearman, status
from offline_online_correlation
where kind = 'experiment' and spearman is not null
order by judge_version, metric, dimension, quarter
