-- agreement with humans per month, judge version and dimension (whole-month pointwise rows)
select strftime(month, '%Y-%m') as month, judge_version, dimension, within_one_agreement, kappa_quadratic, status
from judge_human_agreement
where kind = 'pointwise' and slice_dimension is null
order by judge_version, dimension, month
