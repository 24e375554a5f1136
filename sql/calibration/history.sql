-- calibration_history, rebuilt whole from the calibration tables: one row per month and judge
-- version (agreement with humans and drift), one per quarter and judge version (offline-online)
insert into calibration_history
with agreement as (
    select month, judge_version, count(*) as dimensions, max(n_items) as n_items,
           avg(within_one_agreement) as within_one_agreement, avg(kappa_quadratic) as kappa_quadratic,
           avg(human_human_kappa) as human_human_kappa,
           list(dimension order by dimension) filter (where status = 'recalibrate') as recalibrate,
           list(dimension order by dimension) filter (where status = 'rubric_vague') as rubric_vague,
           count(*) filter (where status = 'ok') as ok_dimensions
    from judge_human_agreement
    where kind = 'pointwise' and slice_dimension is null
    group by month, judge_version
),
pairwise as (
    select month, judge_version, agreement_with_ties, position_consistency
    from judge_human_agreement where kind = 'pairwise'
),
drift as (
    select month, judge_version, max(abs(shift)) as max_abs_shift,
           list(distinct dimension order by dimension) filter (where drifted) as drifted
    from judge_drift
    group by month, judge_version
),
months as (
    select month, judge_version from agreement union select month, judge_version from drift
),
correlation as (
    select quarter, judge_version, max(n) filter (where kind = 'experiment') as pairs,
           max(spearman) filter (where kind = 'experiment' and status <> 'insufficient') as best_spearman,
           list(dimension || ' ~ ' || metric order by dimension, metric)
               filter (where kind = 'experiment' and status = 'predictive') as predictive,
           max(auc) filter (where kind = 'request' and metric = 'thumbs_down') as best_auc_thumbs_down,
           sum(len(mismatches)) filter (where kind = 'experiment') as mismatches
    from offline_online_correlation
    group by quarter, judge_version
)
select 'month', m.month, m.judge_version, a.dimensions, a.n_items, a.within_one_agreement, a.kappa_quadratic,
       a.human_human_kappa, a.ok_dimensions, coalesce(a.recalibrate, []), coalesce(a.rubric_vague, []),
       p.agreement_with_ties, p.position_consistency, d.max_abs_shift, coalesce(d.drifted, []),
       null, null, null, null, null, now()
from months m
left join agreement a using (month, judge_version)
left join pairwise p using (month, judge_version)
left join drift d using (month, judge_version)
union all
select 'quarter', quarter, judge_version, null, null, null, null, null, null, [], [], null, null, null, [],
       pairs, best_spearman, coalesce(predictive, []), best_auc_thumbs_down, mismatches, now()
from correlation
