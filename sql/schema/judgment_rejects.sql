create table if not exists judgment_rejects (
    source_file varchar not null,  -- the file under judgments/, relative to the source directory
    line bigint not null,  -- its line (JSONL), row (CSV: 2 = the first data row; Parquet: 1 = the first row), or 0 for the whole file
    reason varchar not null,  -- what is wrong (missing field, score out of range, unknown dimension, bad position, ...)
    rejected_at timestamptz not null  -- when the import rejected it
)
