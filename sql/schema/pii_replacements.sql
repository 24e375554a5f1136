create table if not exists pii_replacements (
    log_date date not null,
    pii_type varchar not null,
    replaced bigint not null
)
