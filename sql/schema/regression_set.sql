create table if not exists regression_set (
    case_id varchar not null,
    case_hash varchar not null,
    messages struct(role varchar, content varchar)[] not null,
    query varchar not null,
    expected_behavior varchar not null,
    must_contain varchar[],
    must_not_contain varchar[],
    regex varchar,
    json_schema json,
    reason varchar,
    added_at varchar,
    source varchar,
    loaded_at timestamptz not null
)
