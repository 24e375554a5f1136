create table if not exists pairwise_judgments (
    item_id varchar not null,  -- an item both variants answered (candidate_responses), or an imported judgment's item
    variant_a varchar not null,  -- the candidate (pipeline rows; round robin: the first of the pair by name); imported: the first in sorted order
    variant_b varchar not null,  -- the baseline (pipeline rows; round robin: the second of the pair); imported: the second in sorted order
    position varchar not null,  -- ab: variant_a's response shown first; ba: variant_b's shown first
    winner varchar,  -- a, b or tie, naming variant_a or variant_b (not the shown order); null when the judgment failed
    judge_model varchar not null,  -- the judge's litellm model string, or the imported judgment's judge_model
    judge_version varchar not null,  -- the judge version (hash of model, rubric and prompt template); 'imported:<model>:<rubric>' for imported rows
    status varchar not null,  -- ok, parse_failed, failed, skipped_budget or imported
    rationale varchar,  -- the judge's explanation; null when the judgment failed
    error varchar,  -- what went wrong when status is parse_failed or failed; null otherwise
    cost_usd double,  -- cost of the judge call in USD; null for imported rows
    origin varchar not null,  -- pipeline (judged here) or imported (the source's judgments/)
    created_at timestamptz not null  -- when the row was written; for imported rows their judged_at
)
