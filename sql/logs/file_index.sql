-- What the file index remembers of each file: its fingerprint and the days it holds.
select source_file, size_bytes, mtime_ns, first_date, last_date from log_files
