create table if not exists judge_human_agreement (
    month date not null,  -- labels made in this month
    judge_version varchar not null,  -- the judge version compared (judge_scores, or pairwise_judgments for pairwise rows)
    kind varchar not null,  -- pointwise or pairwise
    dimension varchar not null,  -- a rubric dimension; 'preference' for pairwise rows
    slice_dimension varchar,  -- null for the whole month; 'topic' for a topic with enough items
    slice_value varchar,  -- the slice's value (the topic); null for the whole month
    n_items integer not null,  -- items labelled and judged (pointwise: item and variant; pairwise: item and pair)
    n_labels integer not null,  -- human labels on those items
    annotators integer not null,  -- distinct annotators among those labels
    exact_agreement double,  -- judge == human consensus (median, rounded half up)
    within_one_agreement double,  -- |judge - consensus| <= 1: "agreement" in the status rule
    within_one_ci_low double,  -- lower end of within_one_agreement's 95% percentile bootstrap interval over items (1,000 resamples)
    within_one_ci_high double,  -- upper end of that interval
    kappa double,  -- Cohen's kappa, judge against consensus (pairwise: unweighted over {a, b, tie}, against the majority)
    kappa_linear double,  -- linear-weighted Cohen's kappa, judge against consensus, on the rubric's scale (pointwise)
    kappa_quadratic double,  -- quadratic-weighted Cohen's kappa, judge against consensus, on the rubric's scale (pointwise): "kappa" in the status rule
    kappa_quadratic_ci_low double,  -- lower end of kappa_quadratic's 95% percentile bootstrap interval over items (1,000 resamples)
    kappa_quadratic_ci_high double,  -- upper end of that interval
    alpha_humans double,  -- Krippendorff's alpha (ordinal) among the annotators
    alpha_with_judge double,  -- the same with the judge as one more coder
    human_human_kappa double,  -- mean pairwise kappa of annotators (pointwise quadratic, pairwise unweighted): the ceiling
    spearman double,  -- Spearman correlation of the judge's score with the annotators' unrounded median (pointwise)
    spearman_ci_low double,  -- lower end of spearman's 95% percentile bootstrap interval over items (1,000 resamples)
    spearman_ci_high double,  -- upper end of that interval
    agreement_with_ties double,  -- pairwise: combined-order verdict (orders disagree: tie) against the human majority over {a, b, tie}
    agreement_without_ties double,  -- the same on items where neither the verdict nor the majority is a tie
    position_consistency double,  -- both orders give the same verdict (items judged in both)
    status varchar not null,  -- ok, recalibrate, rubric_vague, insufficient_data (pairwise: agreement_without_ties and kappa)
    computed_at timestamptz not null  -- when the month was computed
);
-- added with issue 13 (the table itself is only created when missing, so warehouses created
-- before these columns get them here, on connect). Every kappa is on the rubric's scale, pairwise
-- ones over {a, b, tie}; pairwise, the human majority counts a tie vote like any other.
-- human_human_kappa (above) is also filled for pairwise rows: unweighted kappa over {a, b, tie}
alter table judge_human_agreement add column if not exists human_pairs integer;  -- annotator pairs (5+ items in common, kappa defined) averaged in human_human_kappa
alter table judge_human_agreement add column if not exists human_pair_kappas struct(annotator_a varchar, annotator_b varchar, n_items integer, kappa double)[];  -- every annotator pair with 5+ items in common: its Cohen's kappa (null when undefined); unnest() to query
alter table judge_human_agreement add column if not exists fleiss_kappa double;  -- pairwise, more than two annotators: Fleiss' kappa over {a, b, tie} of the items rated by fleiss_raters annotators
alter table judge_human_agreement add column if not exists fleiss_items integer;  -- items in fleiss_kappa (those with the most common number of raters; under 5: no kappa)
alter table judge_human_agreement add column if not exists fleiss_raters integer;  -- raters per item in fleiss_kappa
alter table judge_human_agreement add column if not exists accuracy_order_ab double;  -- pairwise: the judge's verdict in order ab (the judgment's variant_a shown first) against the human majority, ties a class
alter table judge_human_agreement add column if not exists accuracy_order_ba double;  -- the same in order ba
alter table judge_human_agreement add column if not exists accuracy_mean_orders double;  -- the mean of the two: the published "average over both orders" figure
