"""Run the regression set against every candidate: programmatic checks first, the judge where needed.

A case with checks (must_contain, must_not_contain, regex, json_schema) is decided by them:
free and exact. A case with only an expected behaviour is judged (pointwise, the expected
behaviour in the prompt) and passes when correctness is at least 4. Per candidate, the cases it
fails while the baseline passes are its regressions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jsonschema

from pipeline.judge.client import LLMSettings
from pipeline.judge.fanout import JudgeTask, judge_with_cache, task_key
from pipeline.judge.prompt import TEMPLATE_VERSION, pointwise_messages
from pipeline.judge.rubric import Rubric, judge_version
from pipeline.warehouse import insert_rows, statement

JUDGE_PASS_CORRECTNESS = 4


def check_response(response: str, must_contain: list[str] | None, must_not_contain: list[str] | None,
                   regex: str | None, json_schema: dict | None) -> tuple[bool | None, list[str]]:
    """(passed, failures); passed is None when the case has no programmatic check."""
    if not (must_contain or must_not_contain or regex or json_schema):
        return None, []
    failures = [f"missing {text!r}" for text in must_contain or [] if text not in response]
    failures += [f"contains {text!r}" for text in must_not_contain or [] if text in response]
    if regex and not re.search(regex, response):
        failures.append(f"does not match /{regex}/")
    if json_schema is not None:
        try:
            jsonschema.validate(json.loads(response), json_schema)
        except json.JSONDecodeError:
            failures.append("not valid JSON")
        except jsonschema.ValidationError as exc:
            failures.append(f"JSON schema: {exc.message}")
    return not failures, failures


@dataclass
class RegressionRun:
    baseline: str
    results: list[tuple] = field(default_factory=list)  # (variant, case_id, case_hash, passed, method, failures)
    judge_version: str | None = None

    def pass_rates(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for variant, _, _, passed, _, _ in self.results:
            ok, n = out.get(variant, (0, 0))
            out[variant] = (ok + bool(passed), n + 1)
        return out

    def regressions(self) -> dict[str, list[str]]:
        """Per candidate, the cases it fails that the baseline passes."""
        base = {case for variant, case, _, passed, _, _ in self.results if variant == self.baseline and passed}
        out: dict[str, list[str]] = {}
        for variant, case, _, passed, _, _ in self.results:
            if variant != self.baseline and case in base and not passed:
                out.setdefault(variant, []).append(case)
        return out


def evaluate(con: duckdb.DuckDBPyConnection, settings: LLMSettings, rubric: Rubric, baseline: str, journal: Path) -> RegressionRun:
    run = RegressionRun(baseline)
    pending, tasks = [], []
    version = judge_version(settings.model, rubric, TEMPLATE_VERSION)
    for variant, case_id, case_hash, messages, expected, must, must_not, regex, schema, response in con.execute(
            statement("judge/regression_pairs")).fetchall():
        passed, failures = check_response(response, must, must_not, regex, json.loads(schema) if schema else None)
        if passed is not None:
            run.results.append((variant, case_id, case_hash, passed, "checks", "; ".join(failures) or None))
            continue
        prompt = pointwise_messages(rubric, [m for m in messages if m["role"] != "system"], response, expected)
        tasks.append(JudgeTask(task_key(version, prompt), "pointwise", prompt, {}))
        pending.append((variant, case_id, case_hash))
    if tasks:
        run.judge_version = version
        judged = judge_with_cache(con, tasks, settings, rubric, version, journal)
        for (variant, case_id, case_hash), result in zip(pending, judged.results):
            score = result.verdict.scores.get("correctness") if result.verdict else None
            passed = None if score is None else score >= JUDGE_PASS_CORRECTNESS
            why = (f"judge correctness {score} < {JUDGE_PASS_CORRECTNESS}" if passed is False
                   else None if passed else f"judge: {result.status} {result.error or ''}".strip())
            run.results.append((variant, case_id, case_hash, passed, "judge", why))
    con.execute("delete from regression_results")
    insert_rows(con, "insert into regression_results values (?, ?, ?, ?, ?, ?, ?, now())",
                [(*r, run.judge_version if r[4] == "judge" else None) for r in run.results])
    return run
