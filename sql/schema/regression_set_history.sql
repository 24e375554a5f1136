create table if not exists regression_set_history (
    case_id varchar not null,
    change varchar not null,
    old_hash varchar,
    new_hash varchar not null,
    changed_at timestamptz not null
)
