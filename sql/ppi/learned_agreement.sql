-- what the calibration loop has learned about judge version $v up to the month: per dimension
-- and topic slice (null: the whole month), the exact agreement with the human consensus of the
-- latest month before or at $start that has a row
select dimension, slice_value as topic, arg_max(exact_agreement, month) as exact_agreement
from judge_human_agreement
where judge_version = $v and kind = 'pointwise' and month <= $start::date and exact_agreement is not null
    and (slice_dimension is null or slice_dimension = 'topic')
group by all
