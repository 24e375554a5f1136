-- event rows that cannot count toward any metric, with why (rebuilt with user_metrics)
insert into event_rejects
select source_file, raw_timestamp, event, raw_value, problem, now()
from src_events
where not valid
