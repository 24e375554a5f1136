-- Take the file index's lock (write_locks): on a DuckLake, two runs indexing the same new files at once would
-- otherwise both insert them; with it, the second commit conflicts, is retried, and updates the first's rows.
update write_locks set taken_at = now() where name = 'log_files'
