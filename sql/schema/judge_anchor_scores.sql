-- the anchor set's scores, re-scored by the current judge version each month
create table if not exists judge_anchor_scores (
    judge_version varchar not null,
    month date not null,
    item_id varchar not null,
    variant varchar,
    dimension varchar not null,
    score integer not null,
    created_at timestamptz not null
)
