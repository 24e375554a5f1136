create table if not exists judge_scores (
    item_id varchar not null,  -- the judged item: an eval-set item, an experiment sample or a labelled logged response (request ids), or an imported judgment's item
    variant varchar,  -- the variant whose response was judged; null for eval-set items and where the label or import names none
    source varchar not null,  -- eval_set, experiment_sample, human_labelled (a logged response humans labelled) or imported (the source's judgments/)
    judge_model varchar not null,  -- the judge's litellm model string, or the imported judgment's judge_model
    rubric_version varchar not null,  -- the rubric's version (rubric-v1 by default), or the imported judgment's rubric_version
    judge_version varchar not null,  -- 12 hex digits hashing model, rubric and prompt template; 'imported:<model>:<rubric>' for imported judgments
    dimension varchar not null,  -- the rubric dimension (correctness, relevance, clarity, calibration, length by default)
    score integer,  -- the judge's score on the rubric's scale (1 to 5 by default); null when the judgment failed (status says why)
    rationale varchar,  -- the judge's explanation; null when the judgment failed or an imported one gave none
    status varchar not null,  -- ok, parse_failed, failed, skipped_budget (max_cost_usd reached) or imported
    error varchar,  -- what went wrong when status is parse_failed or failed; null otherwise
    latency_ms double,  -- wall time of the judge call in milliseconds (retries included); null for imported judgments
    tokens bigint,  -- input plus output tokens of the judge call; null for imported judgments
    cost_usd double,  -- cost of the judge call in USD; null for imported judgments
    created_at timestamptz not null  -- when the row was written; for imported judgments their judged_at
)
