insert into eval_set_versions
values ($version_id, $quarter, now(), $parent, $n_items, cast($counts as json), cast($production_mix as json),
        cast($config as json), cast($shortfall as json))
