-- each pre-registration's dates as instants in the session's time zone, epoch microseconds: the
-- first day's start and the start of the day after the last (an exposure must fall in between)
select experiment_id, epoch_us(start_date::timestamptz), epoch_us((end_date + 1)::timestamptz)
from exp_specs
