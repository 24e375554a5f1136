select distinct item_id, query from eval_set where version_id = $v
