-- The prompt of every item a candidate response may name without repeating it: the items of any
-- eval-set version (the newest wins) and the current regression cases.
select item_id, messages from (
    select e.item_id, e.messages,
           row_number() over (partition by e.item_id order by v.quarter desc, v.created_at desc) as newest
    from eval_set e join eval_set_versions v using (version_id)
) where newest = 1
union all
select case_id, messages from regression_set where case_id not in (select item_id from eval_set)
