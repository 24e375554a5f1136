-- PII replaced per type over every cleaned day, for the CLI summary.
select pii_type, sum(replaced) from pii_replacements group by pii_type order by 2 desc, 1
