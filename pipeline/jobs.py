"""Jobs, and running them in process over every partition a source covers.

`evalfunnel run` and `evalfunnel demo` execute each partitioned job once over its whole range
(assets backfill with a single-run policy), on the persistent Dagster instance, so the runs and
materializations appear in the UI afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import dagster as dg

from pipeline.partitions import daily, monthly, quarterly

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _job(name: str, assets: tuple[str, ...], description: str, partitions_def=None) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(name, selection=dg.AssetSelection.assets(*assets), partitions_def=partitions_def,
                               description=description)


daily_ingest_job = _job(
    "daily_ingest", ("raw_logs", "log_rejects", "clean_logs"),
    "Ingest days of logs (raw_logs, log_rejects), anonymize them (clean_logs), with their checks.", daily)

load_regression_set_job = _job(
    "load_regression_set", ("regression_set",), "Load regression_set.jsonl and record changed cases.")

quarterly_eval_rebuild_job = _job(
    "quarterly_eval_rebuild",
    ("eval_set", "offline_online", "offline_online_correlation", "calibration_history", "calibration_forecast"),
    "Rebuild the quarter's stratified eval set from the last 90 days of clean_logs; compare the judge with the "
    "quarter's experiments (offline_online, offline_online_correlation); update the history and the forecasts for "
    "candidates.", quarterly)

monthly_experiment_samples_job = _job(
    "monthly_experiment_samples", ("experiment_samples",),
    "Sample each running experiment's traffic per variant for the judge.", monthly)

judge_eval_set_job = _job(
    "judge_eval_set", ("judge_scores",),
    "Score eval-set items, experiment samples and human-labelled responses with the configured judge (cached), "
    "and import judgments.")

rate_candidates_job = _job(
    "rate_candidates",
    ("candidate_responses", "candidate_scores", "pairwise_judgments", "variant_ratings", "pareto_frontier",
     "regression_results"),
    "Import candidate responses, score them on the rubric, judge them against the baseline in both orders, rate and "
    "place them.")

analyze_experiments_job = _job(
    "analyze_experiments", ("user_metrics", "experiment_results", "experiment_summary"),
    "Per-user metrics in DuckDB, then effects, guardrails, SRM and a decision per experiment.")

load_human_labels_job = _job(
    "load_human_labels", ("human_labels",),
    "Validate and load human_labels/ (a repeated label keeps the latest; rejects with their reasons).")

monthly_judge_validation_job = _job(
    "monthly_judge_validation",
    ("experiment_samples", "human_labels", "judge_scores", "judge_human_agreement", "judge_drift", "calibration_history"),
    "For a month: sample experiment traffic, load human labels, judge (cached), then the judge against humans "
    "(agreement) and against its anchor (drift); update the history.", monthly)

calibration_history_job = _job(
    "rebuild_calibration_history", ("calibration_history",), "Rebuild calibration_history from the calibration tables.")

build_report_job = _job(
    "build_report", ("report",), "Write the weekly HTML report (EVALFUNNEL_HOME/report/index.html).")

JOBS = [load_regression_set_job, daily_ingest_job, quarterly_eval_rebuild_job, monthly_experiment_samples_job,
        load_human_labels_job, judge_eval_set_job, rate_candidates_job, analyze_experiments_job,
        monthly_judge_validation_job, calibration_history_job, build_report_job]


@dataclass(frozen=True)
class Stage:
    """One step of `evalfunnel run`: a job, optionally restricted to some of its assets (the
    scheduled jobs bundle assets whose inputs other stages build first)."""
    job: dg.UnresolvedAssetJobDefinition
    assets: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.job.name + (f" ({', '.join(self.assets)})" if self.assets else "")


# the order `evalfunnel run` executes them in
STAGES = [Stage(load_regression_set_job), Stage(daily_ingest_job), Stage(quarterly_eval_rebuild_job, ("eval_set",)),
          Stage(monthly_experiment_samples_job), Stage(load_human_labels_job), Stage(judge_eval_set_job),
          Stage(rate_candidates_job), Stage(analyze_experiments_job),
          Stage(monthly_judge_validation_job, ("judge_human_agreement", "judge_drift")),
          Stage(quarterly_eval_rebuild_job, ("offline_online", "offline_online_correlation", "calibration_forecast")),
          Stage(calibration_history_job), Stage(build_report_job)]


@dataclass(frozen=True)
class StageOutcome:
    job: str
    first: str
    last: str
    success: bool
    seconds: float
    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def partition_range(job: dg.UnresolvedAssetJobDefinition, first_day: date, last_day: date) -> tuple[str, str] | None:
    """The first and last partition keys of `job` whose time windows overlap [first_day, last_day]."""
    partitions = job.partitions_def
    inside = [k for k in partitions.get_partition_keys()
              if (w := partitions.time_window_for_partition_key(k)).start.date() <= last_day and w.end.date() > first_day]
    return (inside[0], inside[-1]) if inside else None


def run_range(defs: dg.Definitions, job_name: str, first: str, last: str, instance: dg.DagsterInstance,
              assets: tuple[str, ...] = ()) -> StageOutcome:
    """Execute one job (or some of its assets) in a single in-process run: a partitioned job
    over [first, last], an unpartitioned one (first and last empty) once."""
    t0 = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last} if first else {}
    result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False, tags=tags,
                                    asset_selection=[dg.AssetKey(a) for a in assets] or None)
    errors, warnings = [], []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            errors.append(f"{event.step_key}: {event.step_failure_data.error.message.strip().splitlines()[-1]}")
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                what = f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                # a WARN check is advice (drift, parse failures): reported, not a failed run
                if evaluation.severity == dg.AssetCheckSeverity.WARN:
                    warnings.append(f"{what} warns")
                else:
                    errors.append(f"{what} failed")
    return StageOutcome(job_name, first, last, result.success and not errors, time.perf_counter() - t0, tuple(errors),
                        tuple(warnings))
