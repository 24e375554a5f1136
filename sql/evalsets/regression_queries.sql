-- The user turns of every current regression case: an eval set never contains them.
select query from regression_set
