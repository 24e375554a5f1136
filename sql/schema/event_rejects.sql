create table if not exists event_rejects (
    source_file varchar,  -- the events file the row came from
    "timestamp" varchar,  -- the row's timestamp as written (the user id is left out: it is not pseudonymized here)
    event varchar,  -- the event name as written
    value varchar,  -- the value as written
    problem varchar not null,  -- missing user_id, unreadable timestamp, value is not a finite number, ...
    rejected_at timestamptz not null  -- when the user_metrics run rejected it
)
