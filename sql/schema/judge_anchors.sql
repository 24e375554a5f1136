-- frozen at first use: the anchor of each judge version and drift method
create table if not exists judge_anchors (
    judge_version varchar not null,
    method varchar not null,
    anchor_month date not null,
    frozen_at timestamptz not null
)
