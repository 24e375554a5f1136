create table if not exists pii_replacements (
    log_date date not null,  -- the clean_logs day
    pii_type varchar not null,  -- EMAIL, PHONE, CREDIT_CARD, US_SSN, IBAN, IP_ADDRESS, SECRET, URL_TOKEN, STREET_ADDRESS or PERSON; types with nothing replaced have no row
    replaced bigint not null  -- occurrences of this type the anonymizer detected and replaced in the day's texts (a found name's repeats replaced elsewhere are not counted)
)
