"""Judging: judge_scores from the pipeline's judge on eval-set items and imported judgments."""

import dagster as dg

from assets import per_partition
from assets.logs import DUCKDB_POOL
from pipeline.judge.budget import spending
from pipeline.judge.candidates import mean_scores_table, score_candidates, source_topics
from pipeline.judge.checks import (
    MAX_PARSE_FAILURE_RATE,
    call_failure_rate,
    candidate_models,
    length_bias,
    model_family,
    parse_failure_rate,
    self_preference,
)
from pipeline.judge.generation import generate, load_candidates_yaml
from pipeline.judge.metadata import (
    estimate_metadata,
    length_bias_table,
    pairwise_metadata,
    regression_metadata,
    samples_metadata,
    score_metadata,
)
from pipeline.judge.pairwise import judge_pairs, load_candidates, store_candidates
from pipeline.judge.prompt import TEMPLATE_VERSION
from pipeline.judge.regression_eval import evaluate
from pipeline.judge.rubric import judge_version
from pipeline.judge.samples import sample_month
from pipeline.judge.scores import import_judgments, score_items
from pipeline.metadata import records_table, table_metadata
from pipeline.partitions import monthly, window_dates
from pipeline.progress import ProgressLog
from pipeline.report.html import ratings_section, section_charts
from pipeline.resources import JudgeResource, SourceResource, WarehouseResource


class ExperimentSampleConfig(dg.Config):
    """How many requests per variant each month, stratified by which metadata dimensions."""

    per_variant: int = 100
    strata: list[str] = ["topic"]
    seed: int = 0


@dg.asset(partitions_def=monthly, deps=["clean_logs"], kinds={"duckdb"}, group_name="judging", pool=DUCKDB_POOL,
          backfill_policy=dg.BackfillPolicy.single_run(), metadata=table_metadata("experiment_samples"))
def experiment_samples(context: dg.AssetExecutionContext, config: ExperimentSampleConfig,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A stratified sample per variant of each experiment's traffic in the month, for the judge."""
    months = {}
    with warehouse.connect() as con:
        for key in context.partition_keys:
            start, end = window_dates(monthly.time_window_for_partition_key(key))
            result = sample_month(con, start, end, per_variant=config.per_variant, strata=tuple(config.strata),
                                  seed=config.seed)
            months[key] = [{"experiment": e, "variant": v, "sampled": n, "requests": result.traffic[(e, v)]}
                           for (e, v), n in result.per_arm.items()]
    # one run may sample several months (a single-run backfill): each month gets its own samples
    per_partition(context, {k: samples_metadata(samples) for k, samples in months.items()})
    return dg.MaterializeResult(metadata={"run_months": len(months)})


@dg.asset(deps=["eval_set", experiment_samples, "human_labels"], kinds={"duckdb", "litellm"}, group_name="judging",
          pool=DUCKDB_POOL, metadata=table_metadata("judge_scores"))
def judge_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                 judge: JudgeResource) -> dg.MaterializeResult:
    """Rubric scores per (item, judge version, dimension): eval-set items, experiment samples, imported judgments."""
    rubric = judge.load_rubric()
    with warehouse.connect() as con:
        with spending(context, judge, con, "judge_scores"):
            run = score_items(con, judge.settings(), rubric, warehouse.path.parent / "judge-journal" / "items.jsonl",
                              processes=judge.processes, dry_run=judge.dry_run,
                              progress=ProgressLog("judge_scores", context.log.info, unit="judgments"))
        if judge.dry_run:
            return dg.MaterializeResult(metadata={"dry_run": True, **estimate_metadata(run.run.estimate),
                                                  "cache_hits": run.run.cache_hits})
        run.imported, run.imported_pairwise, run.import_rejects = import_judgments(con, source.root() / "judgments", rubric)
        rows = con.execute("select count(*) from judge_scores").fetchone()[0]
        bias = length_bias(con, run.judge_version)
    for f, line, reason in run.import_rejects[:5]:
        context.log.warning(f"rejected judgment {f}:{line}: {reason}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, **score_metadata(run, judge.model),
        "length_bias_spearman": length_bias_table(bias)})


@dg.asset_check(asset=judge_scores, pool=DUCKDB_POOL,
                description=f"WARN when more than {MAX_PARSE_FAILURE_RATE:.0%} of the judge's calls fail or of its "
                            "answers break the format.")
def judge_parse_failures(warehouse: WarehouseResource, judge: JudgeResource) -> dg.AssetCheckResult:
    rubric = judge.load_rubric()
    version = judge_version(judge.model, rubric, TEMPLATE_VERSION)
    with warehouse.connect(read_only=True) as con:
        rate, counts = parse_failure_rate(con, version, rubric.names[0])
    failed = call_failure_rate(counts)
    return dg.AssetCheckResult(passed=max(rate, failed) <= MAX_PARSE_FAILURE_RATE, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"parse_failure_rate": round(rate, 4), "call_failure_rate": round(failed, 4),
                                         "threshold": MAX_PARSE_FAILURE_RATE, "statuses": counts,
                                         "judge_version": version})


@dg.asset_check(asset="variant_ratings", description="WARN when a candidate's model family is the judge's (self-preference).")
def judge_self_preference(source: SourceResource, judge: JudgeResource) -> dg.AssetCheckResult:
    candidates = candidate_models(source.root())
    same = self_preference(judge.model, candidates)
    return dg.AssetCheckResult(passed=not same, severity=dg.AssetCheckSeverity.WARN, metadata={
        "judge_family": model_family(judge.model),
        "candidate_families": {name: model_family(model) for name, model in candidates.items()} or "no candidates.yaml",
        "same_family": ", ".join(same) or "none",
        "advice": "judge these candidates with a model of another family" if same else "no shared family"})


@dg.asset(deps=["eval_set", "regression_set"], kinds={"duckdb", "litellm"}, group_name="judging", pool=DUCKDB_POOL,
          metadata=table_metadata("candidate_responses"))
def candidate_responses(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        source: SourceResource) -> dg.MaterializeResult:
    """Offline responses of candidate variants: imported from candidate_responses/, generated from candidates.yaml."""
    frame, rejects = load_candidates(source.root() / "candidate_responses")
    candidates = load_candidates_yaml(source.root() / "candidates.yaml")
    with warehouse.connect() as con:
        rejects += store_candidates(con, frame)
        generated = generate(con, candidates) if candidates else None
        per_variant = con.execute("select variant, origin, count(*) from candidate_responses group by 1, 2 order by 1, 2").fetchall()
    for error in (generated.errors if generated else [])[:5]:
        context.log.warning(f"generation failed: {error}")
    for file, line, reason in rejects[:20]:
        context.log.warning(f"{file}:{line}: {reason}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(n for *_, n in per_variant), "imported_items": frame.get_column("item_id").n_unique(),
        "per_variant": records_table([{"variant": v, "origin": o, "responses": n} for v, o, n in per_variant]),
        "generated": generated.generated if generated else 0, "generation_cache_hits": generated.cache_hits if generated else 0,
        "generation_failures": generated.failed if generated else 0,
        "generation_cost_usd": round(generated.cost_usd, 6) if generated else 0.0,
        "rejected": len(rejects),
        "rejects": records_table([{"file": f, "line": n, "reason": r} for f, n, r in rejects[:20]])})


@dg.asset(deps=[candidate_responses], kinds={"duckdb", "litellm"}, group_name="judging", pool=DUCKDB_POOL,
          metadata=table_metadata("candidate_scores"))
def candidate_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                     judge: JudgeResource) -> dg.MaterializeResult:
    """Rubric scores of every candidate response (cached), with the item's topic: what the release gate and the
    forecasts compare."""
    topics = source_topics(source.root() / "candidate_responses")
    rubric = judge.load_rubric()
    with warehouse.connect() as con:
        with spending(context, judge, con, "candidate_scores"):
            version, run = score_candidates(con, judge.settings(), rubric,
                                            warehouse.path.parent / "judge-journal" / "candidates.jsonl", topics,
                                            progress=ProgressLog("candidate_scores", context.log.info, unit="judgments"))
        means = mean_scores_table(con, version)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(run.results) * len(rubric.names), "responses": len(run.results), "judge_version": version, "cache_hits": run.cache_hits,
        "new_judgments": len(run.results) - run.cache_hits, "cost_usd": round(sum(r.cost_usd or 0 for r in run.results), 6),
        "mean_scores": dg.MetadataValue.md(means)})


class PairwiseConfig(dg.Config):
    """Which variant every candidate is compared with, and the bootstrap."""

    baseline: str = "baseline"
    round_robin: bool = False  # every pair of variants, not only candidate vs baseline
    resamples: int = 500
    seed: int = 0


@dg.multi_asset(
    specs=[dg.AssetSpec("pairwise_judgments", deps=[candidate_responses], kinds={"duckdb", "litellm"}, group_name="judging",
                        description="Candidate vs baseline on every shared item, judged in both orders; imported pairwise "
                                    "verdicts (origin imported) are written here by judge_scores.",
                        metadata=table_metadata("pairwise_judgments")),
           dg.AssetSpec("variant_ratings", deps=["pairwise_judgments"], kinds={"duckdb"}, group_name="judging",
                        description="Bradley-Terry ratings (Elo scale) with bootstrap CIs, plain and length-controlled.",
                        metadata=table_metadata("variant_ratings")),
           dg.AssetSpec("pareto_frontier", deps=["variant_ratings"], kinds={"duckdb"}, group_name="judging",
                        description="Rating against cost per request and latency; which variants no other dominates.",
                        metadata=table_metadata("pareto_frontier"))],
    pool=DUCKDB_POOL, can_subset=False)
def pairwise(context: dg.AssetExecutionContext, config: PairwiseConfig, warehouse: WarehouseResource, judge: JudgeResource):
    """Judge candidates against the baseline in both orders, then rate and place them."""
    with warehouse.connect() as con:
        with spending(context, judge, con, "pairwise_judgments"):
            run = judge_pairs(con, judge.settings(), judge.load_rubric(), config.baseline,
                              warehouse.path.parent / "judge-journal" / "pairwise.jsonl", resamples=config.resamples,
                              seed=config.seed, round_robin=config.round_robin,
                              progress=ProgressLog("pairwise", context.log.info, unit="judgments"))
        charts = section_charts(ratings_section, con, run.judge_version)
        # the whole table: this judge's verdicts, earlier versions' and the imported ones (judge_scores writes those)
        table_rows = con.execute("select origin, judge_version, count(*) from pairwise_judgments "
                                 "group by all order by all").fetchall()
    meta = pairwise_metadata(run, judge.model, table_rows)
    yield dg.MaterializeResult(asset_key="pairwise_judgments", metadata=meta["judgments"])
    yield dg.MaterializeResult(asset_key="variant_ratings", metadata={
        **meta["ratings"], "charts": dg.MetadataValue.md("\n\n".join(charts) or "no ratings")})
    yield dg.MaterializeResult(asset_key="pareto_frontier", metadata=meta["frontier"])


@dg.asset(deps=["regression_set", candidate_responses], kinds={"duckdb", "litellm"}, group_name="judging",
          pool=DUCKDB_POOL, metadata=table_metadata("regression_results"))
def regression_results(context: dg.AssetExecutionContext, config: PairwiseConfig, warehouse: WarehouseResource,
                       judge: JudgeResource) -> dg.MaterializeResult:
    """Each candidate on the regression set: programmatic checks first, the judge where a case has none."""
    with warehouse.connect() as con:
        with spending(context, judge, con, "regression_results"):
            run = evaluate(con, judge.settings(), judge.load_rubric(), config.baseline,
                           warehouse.path.parent / "judge-journal" / "regression.jsonl")
    why_empty = {} if run.results else {"note": dg.MetadataValue.text(
        "nothing to check: no candidate response answers a current regression case "
        "(candidate_responses.item_id must equal a regression_set case_id)")}
    return dg.MaterializeResult(metadata={"dagster/row_count": len(run.results), **regression_metadata(run), **why_empty})
