create table if not exists eval_set_versions (
    version_id varchar not null,  -- content hash of the set: 16 hex digits of a SHA-256 over its items' ids, kinds, groups and texts
    quarter date not null,  -- the quarter partition it was built for (first day)
    created_at timestamptz not null,  -- when this version was first built (a rebuild that gives the same version adds nothing)
    parent_version varchar,  -- the most recent other version when this one was created; null for the first
    n_items integer not null,  -- items in the set
    counts json not null,  -- items per kind and group, {"kind:group": n}
    production_mix json not null,  -- each stratum's share of the requests in the lookback window, {stratum: share}
    config json not null,  -- the build config: size, lookback_days, strata, shares, min_per_stratum, near_duplicate_jaccard, seed, ...
    shortfall json not null  -- items per kind that no group could fill, {"kind:*": n}; {} when the set is full
)
