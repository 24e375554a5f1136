-- Every reject in the warehouse per first failing field, for the CLI summary.
select field, count(*) from log_rejects group by field order by 2 desc, 1
