create table if not exists variant_ratings (
    judge_version varchar not null,  -- the judge version of the pairwise judgments rated
    variant varchar not null,  -- a rated variant (the baseline included)
    baseline varchar not null,  -- the variant held at 1000 (the asset's `baseline` config, default 'baseline')
    rating double not null,  -- Bradley-Terry rating by maximum likelihood on the Elo scale, 1000 + 400 / ln(10) * theta; +100 wins 64% against the baseline
    ci_low double,  -- lower end of the rating's 95% percentile bootstrap interval over items (500 resamples by default)
    ci_high double,  -- upper end of that interval
    win_rate_vs_baseline double,  -- share of its comparisons with the baseline it won, ties counting half; null for the baseline
    n_comparisons integer not null,  -- comparisons involving the variant: one per item and pair, its two orders combined (disagreeing orders count as a tie)
    length_controlled boolean not null,  -- true: fitted with the log length ratio of the two responses as a covariate
    position_consistency double,  -- share of pairs judged in both orders whose two verdicts agree (the same on every row of the judge version)
    computed_at timestamptz not null  -- when the ratings were fitted
)
