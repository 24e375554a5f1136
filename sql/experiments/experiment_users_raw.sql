-- users analysed: one variant, a known one, first exposed inside the experiment's dates;
-- the pseudonym is HMAC-SHA256 of 'user:' || id, exactly as clean_logs computes it
create or replace temp table experiment_users_raw as
select experiment_id, user_id as raw_user_id,
       'user_' || left(sha256($opad || unhex(sha256($ipad || encode('user:' || user_id)))), 20) as user_id,
       variant, exposure_at, end_date
from assigned
where n_variants = 1 and not unknown_variant
  and exposure_at >= start_date::timestamptz and exposure_at < (end_date + 1)::timestamptz
