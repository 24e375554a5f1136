create table if not exists regression_results (
    variant varchar not null,  -- the candidate whose response (candidate_responses) was tested
    case_id varchar not null,  -- the regression case
    case_hash varchar not null,  -- the version of the case tested (regression_set.case_hash)
    passed boolean,  -- whether the response passed; null when the judge gave no score
    method varchar not null,  -- checks (must_contain, must_not_contain, regex, JSON Schema decide) or judge (pass at correctness >= 4)
    failures varchar,  -- what failed, '; '-separated ('missing ...', 'contains ...', 'does not match /.../', 'judge correctness 3 < 4', the judge's error); null when passed
    judge_version varchar,  -- the judge version when method is judge; null for checks
    evaluated_at timestamptz not null  -- when the regression run evaluated it
)
