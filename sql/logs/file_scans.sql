-- What timestamp-only scans found in files no run has read: their fingerprint and the days they hold.
select source_file, size_bytes, mtime_ns, first_date, last_date from log_file_scans
