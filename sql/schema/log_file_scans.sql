create table if not exists log_file_scans (
    source_file varchar not null,  -- a file under logs/ that no run has read yet (log_files has it once one does)
    size_bytes bigint not null,  -- the file's size in bytes when scanned; with mtime_ns, tells whether it changed since
    mtime_ns bigint not null,  -- the file's modification time when scanned, in nanoseconds since the Unix epoch
    first_date date not null,  -- the earliest day of a timestamp in the file (within the accepted range)
    last_date date not null,  -- the latest such day: a run for a window outside [first_date, last_date] skips the file
    scanned_at timestamptz not null  -- when the timestamp-only scan ran
)
