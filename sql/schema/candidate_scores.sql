create table if not exists candidate_scores (
    judge_version varchar not null,
    item_id varchar not null,
    variant varchar not null,
    dimension varchar not null,
    score integer,  -- null when the judgment failed (status says why)
    status varchar not null,
    rationale varchar,
    topic varchar,  -- the item's slice: eval-set metadata, else the candidate file's metadata.topic
    created_at timestamptz not null
)
