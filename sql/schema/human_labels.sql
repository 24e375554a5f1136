create table if not exists human_labels (
    kind varchar not null,  -- pointwise or pairwise
    item_id varchar not null,  -- a request_id, an eval item or a candidate item
    variant varchar,  -- pointwise: the variant whose response was labelled (optional)
    variant_a varchar,  -- pairwise: the pair in sorted order
    variant_b varchar,  -- pairwise: the second variant of the pair (variant_a < variant_b)
    annotator_id varchar not null,  -- who labelled, as in the source file
    dimension varchar,  -- pointwise: the rubric dimension scored; null for pairwise rows
    score integer,  -- pointwise, within the rubric's scale
    winner varchar,  -- pairwise: a, b or tie (of variant_a, variant_b as stored)
    labeled_at timestamptz not null,  -- when the label was made, UTC; an annotator's repeated label keeps the latest
    source_file varchar not null,  -- the file under human_labels/, relative to the source directory
    source_line bigint not null,  -- its line (JSONL) or row (CSV: 2 = the first data row; Parquet: 1 = the first row)
    loaded_at timestamptz not null  -- when the labels were loaded
)
