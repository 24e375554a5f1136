create table if not exists write_locks (
    name varchar not null,  -- what the row serializes: 'log_files', the ingest's file index, which every window's ingest writes
    taken_at timestamptz not null  -- when a transaction last took it
);
-- the rows exist from the start: a transaction takes a lock by updating its row, and on a DuckLake
-- two transactions that update one table cannot both commit (the second is retried, and then sees
-- the first's rows), where two that only insert could (DuckLake has no unique keys)
insert into write_locks select 'log_files', now() where not exists (select 1 from write_locks where name = 'log_files')
