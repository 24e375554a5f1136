create table if not exists log_rejects (
    log_date date not null,  -- the day the reject is filed under: the record's UTC day, else the day of the nearest valid record in the same file, else the file's indexed or modification day
    source_file varchar not null,  -- the file, relative to the source directory
    line bigint not null,  -- the line (JSONL) or data row (CSV, Parquet: 1 = the first row after the header); 0 when the whole file could not be read
    field varchar not null,  -- the first field named in `reason` (for grouping); 'record' when the line is not a JSON object or could not be read
    reason varchar not null,  -- every problem found in the record, separated by '; ' (e.g. 'latency_ms: must be a finite number from 0 to 86400000, got fast'), scrubbed of PII
    raw varchar,  -- the first 2,000 characters of the record as read, scrubbed of PII by the clean_logs anonymizer
    rejected_at timestamptz not null  -- when the ingest run rejected it
)
