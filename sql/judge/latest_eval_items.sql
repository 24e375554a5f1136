-- The items of the newest eval-set version: what candidates generate responses for.
select item_id, messages from eval_set
where version_id = (select version_id from eval_set_versions order by quarter desc, created_at desc limit 1)
order by item_id
