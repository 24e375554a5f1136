-- PII replaced per type in a window.
select pii_type, sum(replaced) from pii_replacements
where log_date >= $start and log_date < $end
group by pii_type order by 2 desc, 1
