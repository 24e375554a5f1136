create table if not exists user_segments (
    experiment_id varchar not null,
    user_id varchar not null,
    dimension varchar not null,
    value varchar not null
)
