-- Every candidate response to a current regression case, with the case's checks.
select c.variant, r.case_id, r.case_hash, r.messages, r.expected_behavior, r.must_contain, r.must_not_contain,
       r.regex, cast(r.json_schema as varchar), c.response
from regression_set r
join candidate_responses c on c.item_id = r.case_id
order by c.variant, r.case_id
