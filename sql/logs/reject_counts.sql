-- Rejects of a window per first failing field.
select reject_field, count(*) from reject_days
where log_date >= $start and log_date < $end
group by reject_field
order by 2 desc, 1
