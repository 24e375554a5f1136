create table if not exists label_rejects (
    source_file varchar not null,  -- the file under human_labels/, relative to the source directory
    line bigint not null,  -- its line (JSONL), row (CSV: 2 = the first data row; Parquet: 1 = the first row), or 0 for the whole file
    reason varchar not null,  -- what is wrong (score outside the rubric's scale, unknown dimension or kind, bad winner, same variant twice, missing field, bad labeled_at)
    rejected_at timestamptz not null  -- when the load rejected it
)
