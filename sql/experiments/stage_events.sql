-- the valid events some metric counts, with the hash of their user (split into the same buckets
-- as stage_assignments.sql): timestamps as epoch microseconds, the event as its index among
-- the counted ones (event_kinds, registered by analysis.py), a missing value counting 1
select hash(e.user_id) as user_hash, e.user_id, epoch_us(e."timestamp") as ts, k.kind, coalesce(e.value, 1.0) as value
from src_events e
join event_kinds k on k.event = e.event
where e.valid
