create table if not exists candidate_scores (
    judge_version varchar not null,  -- the judge version that scored (hash of model, rubric and prompt template)
    item_id varchar not null,  -- the candidate_responses item
    variant varchar not null,  -- the candidate whose response was scored
    dimension varchar not null,  -- the rubric dimension
    score integer,  -- the judge's score on the rubric's scale (1 to 5 by default); null when the judgment failed (status says why)
    status varchar not null,  -- ok, parse_failed, failed or skipped_budget
    rationale varchar,  -- the judge's explanation, or the error when the judgment failed
    topic varchar,  -- the item's slice: eval-set metadata, else the candidate file's metadata.topic
    created_at timestamptz not null  -- when the row was written
)
