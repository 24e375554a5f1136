create table if not exists user_segments (
    experiment_id varchar not null,  -- the experiment
    user_id varchar not null,  -- the user's pseudonym (experiment_users.user_id)
    dimension varchar not null,  -- a segment dimension of the pre-registration (`segments`, default segment and device)
    value varchar not null  -- its value in the metadata of the user's first logged request after exposure; users without one have no row
)
