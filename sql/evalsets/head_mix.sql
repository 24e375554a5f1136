-- Head items per stratum in a quarter's eval set.
select stratum, count(*) from eval_set where quarter = $quarter and kind = 'head' group by stratum order by stratum
