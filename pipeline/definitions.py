"""The one Definitions object: assets, checks, resources, jobs, schedules and sensors.

Applied here to every asset, whatever its decorator says: owners (by group), a `partitions` tag
naming the partitioning (the UI shows the quarterly partitions by their cron), and the
declarative automation below.
"""

from __future__ import annotations

import os
import warnings

import dagster as dg

from pipeline import instance_storage
from pipeline.environment import (
    HOME_VAR,
    NER_MODEL_VAR,
    SALT_VAR,
    SOURCE_VAR,
    current_home,
)

# Dagster's warnings about APIs this project uses on purpose, silenced here, before the assets and
# jobs below are defined (the only place: `dagster dev` and every CLI command load this module).
# Each is filtered by its category and message, so any other warning still shows.
# - BetaWarning "Parameter `backfill_policy` of function `asset`": single-run backfills (one run
#   reads each source file once over a range) are how `evalfunnel run` and the UI backfill; 1.13
#   has no stable alternative on @asset (the same policy on @multi_asset carries no warning).
# - PreviewWarning "Specifying a partitions_def on an AssetCheckSpec": the blocking checks check
#   each partition's own rows (no_pii_residue on a day, drift on a month); an unpartitioned check
#   would re-check the whole table on every partition. No stable alternative in 1.13.
# - DeprecationWarning "Parameter `partitions_def` of function `define_asset_job`": redundant
#   (inferred from the selection) but pipeline.cli, jobs.partition_range and the log sensor read
#   `job.partitions_def` from the unresolved jobs; drop it together with those reads.
for category, message in ((dg.BetaWarning, r"Parameter `backfill_policy` of function `asset`"),
                          (dg.PreviewWarning, r"Specifying a partitions_def on an AssetCheckSpec"),
                          (DeprecationWarning, r"Parameter `partitions_def` of function `define_asset_job`")):
    warnings.filterwarnings("ignore", message=message, category=category)

# `dagster dev` without the CLI or Makefile still gets a usable home and a helpful source error
os.environ.setdefault(HOME_VAR, str(current_home().root))
os.environ.setdefault(SOURCE_VAR, str(current_home().demo_source))

# the instance's SQLite commits without an fsync each (WAL, synchronous=NORMAL): see the module
instance_storage.install()

from assets import calibration, evalsets, experiments, judge, logs, privacy, report  # noqa: E402  (after the environment defaults above)
from pipeline.jobs import JOBS  # noqa: E402
from pipeline.partitions import daily, monthly, quarterly  # noqa: E402
from pipeline.judge.controls import judge_config
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource  # noqa: E402
from pipeline.schedules import SCHEDULES  # noqa: E402
from pipeline.sensors import log_files_sensor  # noqa: E402

# Owners by asset group: one team owns the whole funnel today; route a group to another team
# (or a person's e-mail) here. An asset in a group missing from this mapping fails the import.
GROUP_OWNERS: dict[str, list[str]] = {
    "ingest": ["team:evals"],
    "anonymize": ["team:evals"],
    "evalsets": ["team:evals"],
    "judging": ["team:evals"],
    "experiments": ["team:evals"],
    "calibration": ["team:evals"],
    "report": ["team:evals"],
}

# ---- declarative automation ------------------------------------------------------------------
# Schedules (pipeline/schedules.py) and the log sensor drive what depends on the clock, on files
# Dagster cannot see (logs/, human_labels/, experiments/) or costs judge calls. The assets below
# only follow other assets' tables, so they carry an AutomationCondition instead: they update
# after their inputs do, whoever updated them (a schedule, a UI backfill, `evalfunnel backfill`).
# The conditions act only while the `evalfunnel_automation` sensor runs, which needs the Dagster
# daemon (`evalfunnel dev` starts one) and ships stopped: start it under Automation in the UI.
# `evalfunnel run`, `make demo` and the tests execute jobs in process and never evaluate them.

# The latest partition (month or quarter) once an input updated: eager() without its branch for
# newly missing partitions, so a month or quarter is not built on the day its partition appears,
# before the schedule loaded its inputs.
LATEST_AFTER_INPUTS = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("latest partition, after an input updates")

# Tables rebuilt whole from their inputs: once any input updated. A missing upstream partition
# (a month whose validation has not run yet) does not hold them back, unlike eager().
REBUILD_AFTER_INPUTS = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild after an input updates")

AUTOMATION: dict[str, dg.AutomationCondition] = {
    # the judge against new human labels, judge scores or pairwise judgments (DuckDB and scipy only;
    # judge_drift re-judges anchors, a cost, so it stays with the monthly schedule)
    "judge_human_agreement": LATEST_AFTER_INPUTS,
    # the judge's deltas against new experiment results (analyze_experiments has no schedule)
    "offline_online": LATEST_AFTER_INPUTS,
    "offline_online_correlation": LATEST_AFTER_INPUTS,
    # roll-ups and the page, rebuilt whole from the tables above
    "calibration_history": REBUILD_AFTER_INPUTS,
    "calibration_forecast": REBUILD_AFTER_INPUTS,
    "report": REBUILD_AFTER_INPUTS,
}

automation_sensor = dg.AutomationConditionSensorDefinition(
    "evalfunnel_automation", target=dg.AssetSelection.assets(*AUTOMATION),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Declarative automation: judge_human_agreement (latest month), offline_online and "
                "offline_online_correlation (latest quarter), calibration_history, calibration_forecast and report "
                "update after their inputs do. Needs the Dagster daemon; ships stopped.")

PARTITIONING = ((daily, "daily"), (monthly, "monthly"), (quarterly, "quarterly"))


def _central(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Owners, the partitions tag and automation for one asset."""
    name = spec.key.to_user_string()
    if spec.group_name not in GROUP_OWNERS:
        raise KeyError(f"asset {name} is in group {spec.group_name!r}, which has no owner in GROUP_OWNERS")
    tags = {"partitions": kind for pdef, kind in PARTITIONING if spec.partitions_def == pdef}
    spec = spec.merge_attributes(owners=[o for o in GROUP_OWNERS[spec.group_name] if o not in spec.owners],
                                 tags=tags)
    if name in AUTOMATION:
        spec = spec.replace_attributes(automation_condition=AUTOMATION[name])
    return spec


ASSETS = dg.map_asset_specs(_central, [
    logs.ingested_logs, privacy.clean_logs, evalsets.regression_set, evalsets.eval_set, judge.judge_scores,
    judge.candidate_responses, judge.candidate_scores, judge.pairwise, judge.experiment_samples,
    judge.regression_results, experiments.user_metrics, experiments.experiment_analysis, calibration.human_labels,
    calibration.judge_human_agreement, calibration.judge_drift, calibration.offline_online,
    calibration.offline_online_correlation, calibration.calibration_history, calibration.calibration_forecast,
    calibration.label_queue, calibration.ppi_estimates, report.report])

CELERY_BROKER_VAR, CELERY_BACKEND_VAR = "EVALFUNNEL_CELERY_BROKER", "EVALFUNNEL_CELERY_BACKEND"
_CELERY_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sqs")


def _celery_url(value: str | None, var: str, *, required: bool) -> str | None:
    """A broker or backend URL, checked before celery sees it (it reports 'No module named ...'
    for a typo and connects to AMQP on localhost for an empty one)."""
    from urllib.parse import urlparse

    from pipeline.warehouse import hide_passwords

    value = (value or "").strip()
    if not value:
        if required:
            raise ValueError(f"EVALFUNNEL_EXECUTOR=celery needs {var}: the broker's URL, e.g. redis://redis.internal:6379/0")
        return None
    parsed = urlparse(value)
    try:
        parsed.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError(f"{var}: the port in {hide_passwords(value)} is not a number") from None
    if parsed.scheme.lower() not in _CELERY_SCHEMES:
        raise ValueError(f"{var}={hide_passwords(value)!r}: expected a broker URL starting with "
                         f"{', '.join(s + '://' for s in _CELERY_SCHEMES)}")
    return value


def _executor() -> dg.ExecutorDefinition | None:
    """EVALFUNNEL_EXECUTOR=celery: each step of a run is a task for dagster-celery's workers on any
    machine (the team profile); the broker and backend come from EVALFUNNEL_CELERY_BROKER and
    _BACKEND unless a run's config names them (deploy/celery.yaml does, from the same variables),
    so runs the sensor, the schedules and the UI launch use them too. Unset: Dagster's default."""
    name = os.environ.get("EVALFUNNEL_EXECUTOR", "").strip().lower()
    if not name:
        return None
    if name != "celery":
        raise ValueError(f"EVALFUNNEL_EXECUTOR={name!r}: the one choice is celery (unset: Dagster's default)")
    from dagster_celery import celery_executor

    _celery_url(os.environ.get(CELERY_BROKER_VAR), CELERY_BROKER_VAR, required=True)  # fail at load, with the name
    _celery_url(os.environ.get(CELERY_BACKEND_VAR), CELERY_BACKEND_VAR, required=False)

    @dg.configured(celery_executor, config_schema={
        "broker": dg.Field(dg.StringSource, is_required=False), "backend": dg.Field(dg.StringSource, is_required=False),
        "include": dg.Field([str], is_required=False), "config_source": dg.Field(dg.Permissive(), is_required=False),
        "retries": dg.Field(dg.Permissive(), is_required=False)})
    def celery_from_environment(config: dict) -> dict:
        out = {k: v for k, v in config.items() if k not in ("broker", "backend")}
        out["broker"] = _celery_url(config.get("broker") or os.environ.get(CELERY_BROKER_VAR), CELERY_BROKER_VAR,
                                    required=True)
        backend = _celery_url(config.get("backend") or os.environ.get(CELERY_BACKEND_VAR), CELERY_BACKEND_VAR,
                              required=False)
        if backend:
            out["backend"] = backend
        return out

    return celery_from_environment


defs = dg.Definitions(
    executor=_executor(),
    assets=ASSETS,
    asset_checks=[logs.raw_logs_contract, privacy.no_pii_residue, evalsets.eval_set_no_pii_residue,
                  evalsets.eval_set_drift_check, judge.judge_parse_failures, judge.judge_self_preference,
                  experiments.experiment_srm, calibration.judge_drift_check],
    resources={
        "warehouse": WarehouseResource(home=dg.EnvVar(HOME_VAR)),
        "source": SourceResource(source_dir=dg.EnvVar(SOURCE_VAR)),
        # the NER model is optional, so it is read here instead of through a required EnvVar
        "pii": PiiResource(salt=dg.EnvVar(SALT_VAR), ner_model=os.environ.get(NER_MODEL_VAR, "")),
        # the judge and its cost and rate controls from EVALFUNNEL_JUDGE_* (pipeline/judge/controls.py): the
        # local heuristic judge unless EVALFUNNEL_JUDGE_MODEL names another; a run's config overrides each
        "judge": JudgeResource(**judge_config(os.environ)),
    },
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[log_files_sensor, automation_sensor],
)
