-- Files read in this run that gave no valid record (unreadable, or every line rejected).
select source_file, error from log_files
where error is not null and source_file in (select source_file from read_files)
order by source_file
