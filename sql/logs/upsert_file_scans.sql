-- Remember the days a timestamp-only scan found in files this run skipped, so a later run for
-- another window scans only files that are new or changed. Input: `scanned_files`. One row per
-- file: a merge (DuckLake has no key constraints), under the file index's lock.
merge into log_file_scans t
using scanned_files s
on t.source_file = s.source_file
when matched then update set size_bytes = s.size_bytes, mtime_ns = s.mtime_ns, first_date = s.first_date,
    last_date = s.last_date, scanned_at = now()
when not matched then insert values (s.source_file, s.size_bytes, s.mtime_ns, s.first_date, s.last_date, now())
