-- Totals over every ingested day, for the CLI summary.
select coalesce(sum(read), 0), coalesce(sum(loaded), 0), coalesce(sum(rejected), 0), coalesce(sum(duplicates), 0)
from log_partitions
