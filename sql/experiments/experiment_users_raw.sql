-- users analysed: one variant, a known one, first exposed inside the experiment's dates;
-- the pseudonym is HMAC-SHA256 of 'user:' || id, exactly as clean_logs computes it, computed
-- once per distinct user however many experiments it is in
create or replace temp table experiment_users_raw as
with kept as (
    select experiment_id, user_id as raw_user_id, variant, exposure_at, end_date
    from assigned
    where not multiple_variants and not unknown_variant
      and exposure_at >= start_date::timestamptz and exposure_at < (end_date + 1)::timestamptz
),
pseudonyms as (
    select raw_user_id,
           'user_' || left(sha256($opad || unhex(sha256($ipad || encode('user:' || raw_user_id)))), 20) as user_id
    from (select distinct raw_user_id from kept)
)
select row_number() over () as uid,  -- a compact join key for the metric steps
       k.experiment_id, k.raw_user_id, p.user_id, k.variant, k.exposure_at, k.end_date
from kept k
join pseudonyms p using (raw_user_id)
