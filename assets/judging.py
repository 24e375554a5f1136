"""Judging: judge_scores from the pipeline's judge on eval-set items and imported judgments."""

import dagster as dg

from assets.logs import DUCKDB_POOL
from pipeline.judge_report import score_metadata
from pipeline.judge_scores import import_judgments, score_eval_set
from pipeline.progress import ProgressLog
from pipeline.resources import JudgeResource, SourceResource, WarehouseResource


@dg.asset(deps=["eval_set"], kinds={"duckdb", "litellm"}, group_name="judging", pool=DUCKDB_POOL)
def judge_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource, source: SourceResource,
                 judge: JudgeResource) -> dg.MaterializeResult:
    """Rubric scores per (item, judge version, dimension): the judge on eval-set items, plus imported judgments."""
    rubric = judge.load_rubric()
    with warehouse.connect() as con:
        run = score_eval_set(con, judge.settings(), rubric, warehouse.path.parent / "judge-journal" / "eval_set.jsonl",
                             max_cost_usd=judge.max_cost_usd or None, processes=judge.processes,
                             progress=ProgressLog("judge_scores", context.log.info, unit="judgments"))
        run.imported, run.import_rejects = import_judgments(con, source.root() / "judgments", rubric)
        rows = con.execute("select count(*) from judge_scores").fetchone()[0]
    for f, line, reason in run.import_rejects[:5]:
        context.log.warning(f"rejected judgment {f}:{line}: {reason}")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, **score_metadata(run, judge.model)})
