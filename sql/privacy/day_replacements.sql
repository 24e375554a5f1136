-- PII replaced per day and type in a window.
select log_date, pii_type, sum(replaced) from pii_replacements
where log_date >= $start and log_date < $end
group by log_date, pii_type order by 1, 3 desc, 2
