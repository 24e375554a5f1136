-- Cost and latency per candidate variant, for the Pareto frontier.
select variant, avg(cost_usd), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95)
from candidate_responses group by variant order by variant
