create table if not exists experiment_samples (
    month date not null,  -- the monthly partition (first day) the request was served in
    experiment_id varchar not null,  -- the experiment, from clean_logs
    variant varchar not null,  -- the arm that served the request
    stratum varchar not null,  -- the request's strata values (metadata dimensions, default topic) joined by '|'; '(none)' where missing
    item_id varchar not null,  -- the request_id in clean_logs
    user_id varchar not null,  -- the user's pseudonym from clean_logs: the cluster for the judge delta's interval
    "timestamp" timestamptz not null,  -- when the response was served, UTC
    messages struct(role varchar, content varchar)[] not null,  -- the anonymized conversation
    response varchar not null,  -- the anonymized answer the judge scores
    metadata json  -- the request's metadata
)
