create table if not exists pareto_frontier (
    judge_version varchar not null,
    variant varchar not null,
    quality double not null,
    quality_ci_low double,
    quality_ci_high double,
    cost_per_request double,
    latency_p50_ms double,
    latency_p95_ms double,
    on_frontier boolean not null,
    computed_at timestamptz not null
)
