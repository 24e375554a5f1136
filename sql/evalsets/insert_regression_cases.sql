insert into regression_set
select case_id, case_hash, messages, query, expected_behavior, must_contain, must_not_contain, regex,
       cast(json_schema as json), reason, added_at, source, now()
from loaded_cases
