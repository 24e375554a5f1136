-- The first rejects of a window, for the asset's metadata preview.
select source_file, line, reason from log_rejects
where log_date >= $start and log_date < $end
order by source_file, line
limit 10
