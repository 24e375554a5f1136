create table if not exists eval_set_changes (
    version_id varchar not null,  -- the new version
    item_id varchar not null,  -- the item (a clean_logs request_id)
    change varchar not null,  -- what happened to the item against the parent version: added or removed
    reason varchar not null  -- why: for an added item the 'kind:group' it was drawn for; for a removed one 'matches a regression case', 'not drawn this time' or 'outside the lookback window'
)
