-- frozen at first use: the anchor of each judge version and drift method
create table if not exists judge_anchors (
    judge_version varchar not null,  -- the judge version the anchor belongs to
    method varchar not null,  -- rescored or residual (as judge_drift.method)
    anchor_month date not null,  -- first day of the anchor month: the earliest with 20 human-labelled logged responses (rescored) or 20 labelled items this judge scored on a dimension (residual)
    frozen_at timestamptz not null  -- when the anchor was chosen; it never changes afterwards
)
