create table if not exists pareto_frontier (
    judge_version varchar not null,  -- the judge version whose ratings give the quality
    variant varchar not null,  -- a rated variant
    quality double not null,  -- its plain (not length-controlled) Bradley-Terry rating, Elo scale with the baseline at 1000
    quality_ci_low double,  -- lower end of the rating's 95% bootstrap interval (variant_ratings.ci_low)
    quality_ci_high double,  -- upper end of that interval
    cost_per_request double,  -- mean cost_usd of its candidate_responses, in USD; null when none has a cost
    latency_p50_ms double,  -- median latency_ms of its candidate_responses
    latency_p95_ms double,  -- 95th percentile latency_ms of its candidate_responses
    on_frontier boolean not null,  -- no other variant is at least as good on quality, cost and p95 latency and better on one
    computed_at timestamptz not null  -- when the frontier was computed
)
