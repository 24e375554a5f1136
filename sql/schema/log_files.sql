create table if not exists log_files (
    source_file varchar not null,  -- a file under logs/, relative to the source directory
    size_bytes bigint not null,  -- the file's size in bytes when read; with mtime_ns, tells whether it changed since
    mtime_ns bigint not null,  -- the file's modification time when read, in nanoseconds since the Unix epoch
    records bigint not null,  -- records read from the file, valid and rejected
    first_date date,  -- the earliest log_date of its records and rejects; null when it had none
    last_date date,  -- the latest log_date of its records and rejects; null when it had none
    error varchar,  -- why the file gave no valid record (unreadable as a whole, or 'no valid record: N line(s) rejected, the first: ...'); null otherwise
    indexed_at timestamptz not null  -- when the file was last read
)
