-- logged responses the judge scored (experiment samples, labelled responses) before $end, with
-- what the user did: thumbs-down (among rated responses) and regeneration
select j.judge_version, j.dimension, any_value(j.score) as score,
       any_value(c.feedback.thumbs) as thumbs, any_value(coalesce(c.feedback.regenerated, false)) as regenerated
from judge_scores j
join clean_logs c on c.request_id = j.item_id
where j.source in ('experiment_sample', 'human_labelled') and j.score is not null
  and c."timestamp" < $end::timestamptz
group by j.judge_version, j.dimension, j.item_id
-- ordered: the AUC's bootstrap resamples these rows by position (seeded), so their order is part of the result
order by j.judge_version, j.dimension, j.item_id
