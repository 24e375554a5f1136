create table if not exists eval_set_changes (
    version_id varchar not null,
    item_id varchar not null,
    change varchar not null,
    reason varchar not null
)
