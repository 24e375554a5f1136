-- Mean score per dimension for one judge version and source, for the asset's metadata.
select dimension, round(avg(score), 3), count(score) from judge_scores
where judge_version = $judge_version and source = $source group by dimension order by dimension
