create table if not exists human_labels (
    kind varchar not null,  -- pointwise or pairwise
    item_id varchar not null,  -- a request_id, an eval item or a candidate item
    variant varchar,  -- pointwise: the variant whose response was labelled (optional)
    variant_a varchar,  -- pairwise: the pair in sorted order
    variant_b varchar,
    annotator_id varchar not null,
    dimension varchar,  -- pointwise
    score integer,  -- pointwise, within the rubric's scale
    winner varchar,  -- pairwise: a, b or tie (of variant_a, variant_b as stored)
    labeled_at timestamptz not null,
    source_file varchar not null,
    source_line bigint not null,
    loaded_at timestamptz not null
)
