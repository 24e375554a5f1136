"""The one Definitions object: assets, checks, resources, jobs, schedules and sensors."""

from __future__ import annotations

import os

import dagster as dg

from pipeline.environment import (
    HOME_VAR,
    JUDGE_MODEL_VAR,
    NER_MODEL_VAR,
    SALT_VAR,
    SOURCE_VAR,
    current_home,
)

# `dagster dev` without the CLI or Makefile still gets a usable home and a helpful source error
os.environ.setdefault(HOME_VAR, str(current_home().root))
os.environ.setdefault(SOURCE_VAR, str(current_home().demo_source))

from assets import anonymize, calibration, evalsets, experiments, judging, logs, report  # noqa: E402  (after the environment defaults above)
from pipeline.jobs import JOBS  # noqa: E402
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource  # noqa: E402
from pipeline.schedules import SCHEDULES  # noqa: E402
from pipeline.sensors import log_files_sensor  # noqa: E402

defs = dg.Definitions(
    assets=[logs.ingested_logs, anonymize.clean_logs, evalsets.regression_set, evalsets.eval_set, judging.judge_scores,
            judging.candidate_responses, judging.candidate_scores, judging.pairwise, judging.experiment_samples, judging.regression_results,
            experiments.user_metrics, experiments.experiment_analysis, calibration.human_labels,
            calibration.judge_human_agreement, calibration.judge_drift, calibration.offline_online,
            calibration.offline_online_correlation, calibration.calibration_history,
            calibration.calibration_forecast, report.report],
    asset_checks=[logs.raw_logs_contract, anonymize.no_pii_residue, evalsets.eval_set_no_pii_residue,
                  evalsets.eval_set_drift_check, judging.judge_parse_failures, judging.judge_self_preference,
                  experiments.experiment_srm, calibration.judge_drift_check],
    resources={
        "warehouse": WarehouseResource(home=dg.EnvVar(HOME_VAR)),
        "source": SourceResource(source_dir=dg.EnvVar(SOURCE_VAR)),
        # the NER model is optional, so it is read here instead of through a required EnvVar
        "pii": PiiResource(salt=dg.EnvVar(SALT_VAR), ner_model=os.environ.get(NER_MODEL_VAR, "")),
        # the judge model is optional too: the local heuristic judge unless EVALFUNNEL_JUDGE_MODEL names another
        "judge": JudgeResource(model=os.environ.get(JUDGE_MODEL_VAR) or "evalfunnel/heuristic",
                               api_base=os.environ.get("EVALFUNNEL_JUDGE_API_BASE", "")),
    },
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[log_files_sensor],
)
