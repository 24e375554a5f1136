create table if not exists regression_set (
    case_id varchar not null,  -- the case's id in regression_set.jsonl (unique); a promoted logged failure is 'log-<request_id>'
    case_hash varchar not null,  -- the case's version: 16 hex digits of a SHA-256 of its content without case_id
    messages struct(role varchar, content varchar)[] not null,  -- the conversation to answer; a `query` in the file becomes one user message
    query varchar not null,  -- the last user turn: an eval set never draws a near-duplicate of it
    expected_behavior varchar not null,  -- what a good answer does, in words; the judge reads it when the case has no programmatic check
    must_contain varchar[],  -- texts the response must contain (a check)
    must_not_contain varchar[],  -- texts the response must not contain (a check)
    regex varchar,  -- a Python regular expression the response must match, re.search (a check)
    json_schema json,  -- a JSON Schema the response, parsed as JSON, must satisfy (a check)
    reason varchar,  -- why the case exists, as written in the file
    added_at varchar,  -- when the case was added, as written in the file (free text, e.g. 2026-05-03)
    source varchar,  -- where the case came from, as written (e.g. 'log:<request_id>' for a promoted logged failure)
    loaded_at timestamptz not null  -- when the file was loaded
)
