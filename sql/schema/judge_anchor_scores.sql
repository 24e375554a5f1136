-- the anchor set's scores, re-scored by the current judge version each month
create table if not exists judge_anchor_scores (
    judge_version varchar not null,  -- the judge version that re-scored
    month date not null,  -- the month (first day) whose drift run re-scored the anchor set
    item_id varchar not null,  -- an anchor item: a logged request (clean_logs) humans labelled in the anchor month
    variant varchar,  -- the variant named on its human labels; null when none
    dimension varchar not null,  -- the rubric dimension
    score integer not null,  -- the judge's score on the rubric's scale (1 to 5 by default)
    created_at timestamptz not null  -- when the score was written
)
