-- Every text of a quarter's eval set, for the residue scan.
select content from (select unnest(messages).content as content from eval_set where quarter = $quarter)
union all select response from eval_set where quarter = $quarter
union all select cast(metadata as varchar) from eval_set where quarter = $quarter and metadata is not null
