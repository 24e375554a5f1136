create table if not exists label_queue (
    month date not null,  -- the month whose logged responses the queue draws from (their log date)
    item_id varchar not null,  -- a logged request judged that month and not labelled when the queue was drawn
    variant varchar not null,  -- the variant whose response is to be labelled ('' when the log names none)
    judge_version varchar not null,  -- the judge version whose expected error set the probabilities
    error_score double not null,  -- the judge's expected error on this item: the sum over dimensions of (1 - exact agreement) learned by judge_human_agreement (1 per dimension with nothing learned yet), plus 0.5 per dimension scored near the decision threshold and 1 when a pairwise verdict on the item flipped with the order
    inclusion_probability double not null,  -- the probability the draw gave this item: a uniform floor plus a share proportional to error_score, capped at 1, summing to the budget; labels that come back are weighted by its inverse
    selected boolean not null,  -- whether the independent draw picked the item: the items humans should label next
    reasons varchar[] not null,  -- why the item's probability is what it is: floor, low_agreement:<dimension>, near_threshold:<dimension>, order_flip, no_history
    budget double not null,  -- the expected number of items to label the month (the probabilities' sum)
    created_at timestamptz not null  -- when the queue was drawn; a drawn queue is kept as it is (its probabilities are what the labels that come back are weighted by)
)
