"""Jobs, and running them in process over every partition a source covers.

`evalfunnel run` and `evalfunnel demo` execute each partitioned job once over its whole range
(assets backfill with a single-run policy), on the persistent Dagster instance, so the runs and
materializations appear in the UI afterwards.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date

import dagster as dg

from pipeline.partitions import daily, monthly, quarterly

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Dagster's console output: WARNING and up with --debug (tracebacks included); otherwise nothing,
# and the CLI prints one line per failure and the warnings (the full event log stays in the instance)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _job(name: str, assets: tuple[str, ...], description: str, partitions_def=None) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(name, selection=dg.AssetSelection.assets(*assets), partitions_def=partitions_def,
                               description=description)


daily_ingest_job = _job(
    "daily_ingest", ("raw_logs", "log_rejects", "clean_logs"),
    "Daily (UTC days). Ingest days of logs (raw_logs, log_rejects), anonymize them (clean_logs), with their checks.", daily)

load_regression_set_job = _job(
    "load_regression_set", ("regression_set",), "Load regression_set.jsonl and record changed cases.")

quarterly_eval_rebuild_job = _job(
    "quarterly_eval_rebuild",
    ("eval_set", "offline_online", "offline_online_correlation", "calibration_history", "calibration_forecast"),
    "Quarterly (calendar quarters, keyed by their first day: 2026-07-01 is July to September). Rebuild the "
    "quarter's stratified eval set from the last 90 days of clean_logs; compare the judge with the "
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
    ("experiment_samples", "human_labels", "judge_scores", "judge_human_agreement", "judge_drift", "label_queue",
     "ppi_estimates", "calibration_history"),
    "Monthly. For a month: sample experiment traffic, load human labels, judge (cached), then the judge against humans "
    "(agreement) and against its anchor (drift), the items to label next and the human-scale estimates; update the "
    "history.", monthly)

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
          Stage(monthly_judge_validation_job, ("judge_human_agreement", "judge_drift", "label_queue", "ppi_estimates")),
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
    run_id: str = ""
    # (asset, check) of every failed blocking check, and the assets whose step failed: what
    # later stages must not build on
    failed_checks: tuple[tuple[str, str], ...] = ()
    failed_assets: tuple[tuple[str, str], ...] = ()  # (asset, its failed step)
    log_warnings: tuple[str, ...] = ()  # the run's WARNING log lines, one line each
    interrupted: bool = False


def partition_range(job: dg.UnresolvedAssetJobDefinition, first_day: date, last_day: date) -> tuple[str, str] | None:
    """The first and last partition keys of `job` whose time windows overlap [first_day, last_day]."""
    partitions = job.partitions_def
    inside = [k for k in partitions.get_partition_keys()
              if (w := partitions.time_window_for_partition_key(k)).start.date() <= last_day and w.end.date() > first_day]
    return (inside[0], inside[-1]) if inside else None


# ---- one line per failure ------------------------------------------------------------------

_INTERRUPTIONS = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")
_HINTS = (  # (exception class name or message fragment, hint)
    ("Could not set lock on file", "another process has the warehouse open (a duckdb shell, a notebook, or a run "
                                   "from the UI); close it and run again"),
    ("MissingSaltError", "export EVALFUNNEL_PII_SALT (the same key as before, so pseudonyms stay the same)"),
    ("SourceError", "check --source (or EVALFUNNEL_SOURCE): the folder and its logs/ must exist"),
    ("LLMConfigError", "check EVALFUNNEL_JUDGE_MODEL, EVALFUNNEL_JUDGE_API_BASE and the provider's API key"),
    ("AuthenticationError", "check the judge provider's API key"),
    ("OutOfMemoryException", "raise EVALFUNNEL_DUCKDB_MEMORY, or run fewer partitions at a time (evalfunnel backfill)"),
)


def root_cause(error) -> tuple[str, str]:
    """The innermost cause of a Dagster SerializableErrorInfo: (class name, first line of its message)."""
    while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError",
                                                          "DagsterUserCodeExecutionError", "DagsterResourceFunctionError"):
        error = error.cause
    message = (error.message or "").strip()
    # "ValueError: bad thing" or "_duckdb.IOException: IO Error: bad thing" -> "bad thing"
    if error.cls_name:
        message = re.sub(rf"^(?:[\w.]*\.)?{re.escape(error.cls_name)}: ", "", message)
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return error.cls_name or "Error", first


def failure_line(step: str, error, run_id: str) -> str:
    """One line for a failed step: the step, the cause, and a hint."""
    cls, message = root_cause(error)
    if cls in _INTERRUPTIONS:
        return f"{step}: interrupted"
    hint = next((h for key, h in _HINTS if key == cls or key in message), None)
    hint = hint or f"the traceback is in run {run_id[:8]} in the UI (evalfunnel dev), or re-run with --debug"
    return f"{step}: {cls}: {message[:300]} (hint: {hint})"


def _numbers(metadata) -> str:
    """A check's numeric metadata, for its one line (never its text: that may quote what it found)."""
    shown = []
    for key, value in (metadata or {}).items():
        raw = getattr(value, "value", value)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            shown.append(f"{key} {raw:,}" if isinstance(raw, int) else f"{key} {raw:.3g}")
    return f" ({', '.join(shown[:4])})" if shown else ""


# ---- running -------------------------------------------------------------------------------

def run_range(defs: dg.Definitions, job_name: str, first: str, last: str, instance: dg.DagsterInstance,
              assets: tuple[str, ...] = (), debug: bool = False, stopper=None,
              judge: dict | None = None) -> StageOutcome:
    """Execute one job (or some of its assets) in a single in-process run: a partitioned job
    over [first, last], an unpartitioned one (first and last empty) once.

    The run is tagged with this process as its owner (see pipeline.runs), and whatever way it
    ends, it holds no concurrency slot afterwards. Dagster's console output is silenced unless
    `debug`: failures come back as one line each, the WARNING log lines in `log_warnings`.
    `judge`: the judge resource's config for this run (model, budget, ...: the CLI's controls),
    shown with the run in the UI."""
    from pipeline import runs

    t0 = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    tags = {**runs.owner_tags(), **({RANGE_START_TAG: first, RANGE_END_TAG: last} if first else {})}
    run_id = str(uuid.uuid4())
    if stopper is not None:
        stopper.current_run = (instance, run_id)
    from dagster._core.errors import DagsterExecutionInterruptedError

    try:
        run_config = {**(QUIET if debug else SILENT), **({"resources": {"judge": {"config": judge}}} if judge else {})}
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False,
                                        tags=tags, run_id=run_id, asset_selection=[dg.AssetKey(a) for a in assets] or None)
    except (KeyboardInterrupt, DagsterExecutionInterruptedError) as exc:
        # interrupted before or after Dagster's own handling (planning the run, initializing resources)
        if stopper is not None and instance.get_run_by_id(run_id) is not None:
            stopper.last_run = run_id
        raise KeyboardInterrupt from exc
    finally:
        if stopper is not None:
            stopper.current_run = None
        if instance.get_run_by_id(run_id) is not None:
            runs.finish_run(instance, run_id, "The run ended without finishing (interrupted).")
    errors, warnings, failed_checks, failed_assets = [], [], [], []
    interrupted = False
    step_assets = _assets_by_step(defs)
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            interrupted = interrupted or root_cause(error)[0] in _INTERRUPTIONS
            if root_cause(error)[0] == "DagsterAssetCheckFailedError":
                continue  # a blocking check that failed: reported by its evaluation below
            assets_of_step, blocking_checks = step_assets.get(event.step_key, ((), ()))
            failed_assets.extend((asset, event.step_key) for asset in assets_of_step)
            failed_checks.extend(blocking_checks)  # a blocking check that could not run blocks too
            errors.append(failure_line(event.step_key, error, run_id))
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                # a range run records a check once per partition: say which one failed
                what = (f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                        + (f" for {evaluation.partition}" if evaluation.partition else ""))
                # a WARN check is advice (drift, parse failures): reported, not a failed run
                if evaluation.severity == dg.AssetCheckSeverity.WARN:
                    warnings.append(f"{what} warns")
                else:
                    errors.append(f"{what} failed{_numbers(evaluation.metadata)}")
                    if evaluation.blocking:
                        failed_checks.append((evaluation.asset_key.to_user_string(), evaluation.check_name))
        if event.event_type_value == "PIPELINE_FAILURE" and event.event_specific_data is not None:
            data = event.event_specific_data
            if data.error is not None and root_cause(data.error)[0] in _INTERRUPTIONS:
                interrupted = True
            elif data.error is not None and not errors:
                errors.append(failure_line(job_name, data.error, run_id))  # a failure outside any step
    log_warnings = [] if debug else _warning_lines(instance, run_id)
    if stopper is not None and stopper.requested:
        interrupted = True
    return StageOutcome(job_name, first, last, result.success and not errors, time.perf_counter() - t0, tuple(errors),
                        tuple(warnings), run_id, tuple(dict.fromkeys(failed_checks)), tuple(dict.fromkeys(failed_assets)),
                        tuple(log_warnings), interrupted)


def _assets_by_step(defs: dg.Definitions) -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Step key (the op's name) -> (its assets, its blocking checks as (asset, check))."""
    graph = defs.resolve_asset_graph()
    out = {}
    for assets_def in graph.assets_defs:
        checks = tuple((c.asset_key.to_user_string(), c.name) for c in assets_def.check_keys
                       if graph.get_check_spec(c).blocking)
        out[assets_def.node_def.name] = (tuple(k.to_user_string() for k in assets_def.keys), checks)
    return out


def _warning_lines(instance: dg.DagsterInstance, run_id: str, limit: int = 20) -> list[str]:
    """The run's WARNING log lines (what steps logged), one line each, at most `limit` of them."""
    lines = []
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is None and logging.WARNING <= entry.level < logging.ERROR:
            text = " ".join((entry.user_message or "").split())
            lines.append(f"{entry.step_key or 'run'}: {text[:400]}")
    if len(lines) > limit:
        lines[limit:] = [f"... and {len(lines) - limit} more warnings in run {run_id[:8]}'s logs (evalfunnel dev)"]
    return lines


# ---- blocking across stages ----------------------------------------------------------------

def stage_assets(stage: Stage, graph) -> set[dg.AssetKey]:
    """The assets a stage materializes."""
    if stage.assets:
        return {dg.AssetKey(a) for a in stage.assets}
    return set(stage.job.selection.resolve(graph))


def blocked_assets(graph, roots: dict[dg.AssetKey, str], selected: set[dg.AssetKey]) -> dict[dg.AssetKey, set[str]]:
    """Which of `selected` must not run because they depend (transitively) on a root: an asset
    whose blocking check failed or whose step failed in an earlier stage (each run is separate, so
    Dagster's own blocking ends at the run's edge). Maps each to the reasons. Assets that one op
    materializes together are blocked together."""
    blocked: dict[dg.AssetKey, set[str]] = {}
    for key in selected:
        ancestors = graph.get_ancestor_asset_keys(key)
        reasons = {reason for root, reason in roots.items() if root in ancestors}
        if reasons:
            blocked[key] = reasons
    for key, reasons in list(blocked.items()):
        for other in graph.get_execution_set_asset_and_check_keys(key):
            if isinstance(other, dg.AssetKey) and other in selected:
                blocked.setdefault(other, set()).update(reasons)
    return blocked


def new_roots(outcome: StageOutcome) -> dict[dg.AssetKey, str]:
    """What a finished stage adds to the roots that block later stages."""
    roots = {}
    for asset, step in outcome.failed_assets:
        roots[dg.AssetKey(asset)] = f"{step} failed"
    for asset, check in outcome.failed_checks:
        roots[dg.AssetKey(asset)] = f"check {check} on {asset} failed"
    return roots
