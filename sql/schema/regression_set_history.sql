create table if not exists regression_set_history (
    case_id varchar not null,  -- the regression case
    change varchar not null,  -- what happened to the case against the previous load: added, changed (its content hash differs: a new version) or removed
    old_hash varchar,  -- its case_hash before the change; null when added
    new_hash varchar not null,  -- its case_hash after the change; '' when removed
    changed_at timestamptz not null  -- when the load that noticed the change ran
)
