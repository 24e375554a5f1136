create table if not exists ppi_estimates (
    month date not null,  -- the month of the logged responses estimated (their log date); for an eval-set version, its quarter's first day
    scope varchar not null,  -- month (the month's judged logged responses) or eval_set_version (the items of one eval-set version)
    eval_set_version varchar,  -- the eval-set version estimated (scope eval_set_version); null for a month
    judge_version varchar not null,  -- the judge version whose scores on every item carry the estimate
    method varchar not null,  -- ppi++ (labels sampled uniformly, power-tuned prediction-powered inference) or active (labels drawn through label_queue, weighted by inverse inclusion probability)
    variant varchar not null,  -- the variant estimated; '*' for all the month's variants together; '' where the log names none
    compared_to varchar,  -- a paired difference: the variant subtracted (same items, both variants judged and labelled); null for a single variant
    dimension varchar not null,  -- the rubric dimension
    slice_dimension varchar,  -- null for the whole month or version; 'topic' for a topic with enough labelled items; 'kind' for an eval-set stratum kind (head, known_failure, edge_case)
    slice_value varchar,  -- the slice's value (the topic or kind); null for the whole month or version
    n_labeled integer not null,  -- items with human labels (their mean is the item's human score) used
    n_unlabeled integer not null,  -- items with only the judge's score (active: the queue's items not labelled)
    estimate double,  -- the prediction-powered estimate of the mean human score (or of the difference)
    ci_low double,  -- lower end of its 95% interval (Student's t with n_labeled - 1 degrees of freedom); null when the labels show no spread at all
    ci_high double,  -- upper end of its 95% interval
    power_lambda double,  -- PPI++'s power-tuning parameter lambda: 0 ignores the judge (the classical estimate), 1 is plain PPI
    classical_estimate double,  -- the humans-only mean of the labelled items (active: inverse-probability weighted)
    classical_ci_low double,  -- lower end of the humans-only 95% interval (t, as above); null when every label is the same
    classical_ci_high double,  -- upper end of the humans-only 95% interval
    judge_estimate double,  -- the judge-only mean over all items (labelled and not)
    judge_ci_low double,  -- lower end of the judge-only 95% interval (it ignores the judge's bias: narrow, not honest)
    judge_ci_high double,  -- upper end of the judge-only 95% interval
    effective_labels double,  -- the human labels a humans-only estimate would need for the prediction-powered interval's width
    labels_saved double,  -- effective_labels - n_labeled: what the judge is worth in human labels
    queue_unlabelled integer,  -- active: items the queue selected that have no label yet (the estimate treats the labels as complete; finish the queue); null for ppi++
    computed_at timestamptz not null  -- when the month was computed
)
