-- months where a judge version must be recalibrated or drifted (calibration_history)
select strftime(period_start, '%Y-%m'), judge_version, recalibrate_dimensions, drifted_dimensions
from calibration_history
where period = 'month' and (len(recalibrate_dimensions) > 0 or len(drifted_dimensions) > 0)
order by period_start, judge_version
