"""The `evalfunnel` command: demo, demo-data, run, backfill, report, gate, regression add, dev.

Every error prints one readable line with a hint; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shlex
import shutil
import sys
import threading
import time
import traceback
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

from pipeline import environment
from pipeline.progress import CONSOLE_VAR

SUMMARY_TABLES = ("raw_logs", "log_rejects", "clean_logs", "regression_set", "eval_set", "eval_set_versions",
                  "experiment_samples", "judge_scores", "candidate_responses", "pairwise_judgments", "variant_ratings",
                  "pareto_frontier", "regression_results", "user_metrics", "experiment_results", "experiment_summary",
                  "human_labels", "judge_human_agreement", "judge_drift", "offline_online", "offline_online_correlation",
                  "calibration_history", "calibration_forecast", "label_queue", "ppi_estimates")


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, hint: str = "", code: int = 2) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


# exit codes of run, demo and backfill besides 0 and 2 (a usage error)
STEP_FAILED = 1  # a step failed (its line names the cause)
CHECK_BLOCKED = 3  # a blocking check failed; the stages that depend on it did not run


# ---- demo-data ---------------------------------------------------------------------------

def _generate(out: Path, months: int, interactions: int, seed: int) -> None:
    from tqdm import tqdm

    from pipeline.demo.generator import DemoConfig, generate

    if months < 1 or interactions < 100:
        raise UsageError("demo data needs --months >= 1 and --interactions >= 100")
    with tqdm(total=1, desc="demo data", unit="day", disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        summary = generate(DemoConfig(out=out, months=months, interactions=interactions, seed=seed), progress)
    print(f"wrote {summary.interactions:,} interactions for {summary.users:,} users, {summary.start}..{summary.end}, "
          f"to {out} (files by format: {summary.files})")


def cmd_demo_data(args: argparse.Namespace) -> int:
    _generate(Path(args.out), args.months, args.interactions, args.seed)
    return 0


# ---- run ---------------------------------------------------------------------------------

def _say(line: str) -> None:
    print(line, flush=True)


def _source(args: argparse.Namespace, home: environment.Home, required: bool = True, holds: str = "gate.yaml") -> Path:
    """The source a command reads: --source, else EVALFUNNEL_SOURCE, else the demo's; checked
    here so a missing folder is one line, not a failed step."""
    from pipeline.logs import remote
    from pipeline.logs.ingest import SourceError, logs_dir

    named = args.source or os.environ.get(environment.SOURCE_VAR)
    if named and remote.is_remote(named):  # object storage: its mirror in the home, brought up to date
        try:
            mirrored = remote.mirror(named, home.root, say=_warn)
        except remote.RemoteSourceError as exc:
            raise UsageError(str(exc), "check the URL and the AWS_* (or GCS_*) variables") from exc
        print(mirrored.line(named.rstrip("/")), flush=True)
        named = str(mirrored.root)
    source = Path(named or home.demo_source)
    if required:
        try:
            logs_dir(source)
        except SourceError as exc:
            raise UsageError(str(exc), "pass --source DIR pointing at a folder with a logs/ subfolder") from exc
    elif named and not source.is_dir():
        # a command that reads only a file of the source (gate.yaml, regression_set.jsonl)
        raise UsageError(f"source directory {source} does not exist (set EVALFUNNEL_SOURCE or pass --source)",
                         f"pass --source DIR pointing at the folder that holds {holds}")
    return source


def remote_source(source: str | None) -> bool:
    from pipeline.logs.remote import is_remote

    return bool(source) and is_remote(source)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _report_stage(outcome, write=_say, warn=_warn) -> None:
    """A stage's result: one line, then one line per failure, failed check and warning."""
    write(f"  {'ok' if outcome.success else 'FAILED'} in {outcome.seconds:.1f}s")
    for err in outcome.errors:
        write(f"  - {err}")
    for warning in outcome.warnings:
        write(f"  ! {warning} (see its metadata in the UI)")
    for line in outcome.log_warnings:
        warn(f"evalfunnel: warning: {line}")


_HOME_LOCKS: dict[Path, object] = {}  # home -> its open lock file, held until the process exits


def _lock_home(home: environment.Home) -> None:
    """One run-writing command per home at a time (run, demo, backfill): a second waits, says
    for whom, and can be stopped with Ctrl-C. Without it, two commands started together race to
    create the Dagster instance, and one's warehouse reads outside the writer pool collide with
    the other's writes. The OS frees the lock when the process ends, however it ends."""
    import fcntl

    from pipeline import runs

    if home.root in _HOME_LOCKS:
        return
    runs.STOPPER.install()  # Ctrl-C and SIGTERM stop the wait with the usual line and exit code
    handle = open(home.root / ".evalfunnel.lock", "a+")  # noqa: SIM115  (held for the process's life)
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not told:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                _say(f"waiting for another evalfunnel command on this home to finish ({holder}); Ctrl-C to stop")
                told = True
            time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}: evalfunnel {' '.join(sys.argv[1:])}"[:300])
    handle.flush()
    _HOME_LOCKS[home.root] = handle


def _start_runs(instance) -> None:
    """Signal handling, and reclaiming what runs killed earlier left behind, before any run."""
    from pipeline import runs

    runs.install_interrupt_support(runs.STOPPER, on_wait=_say)
    runs.wait_for_slots(instance, _say, runs.STOPPER)


def _run_graph(home: environment.Home, source: Path, debug: bool = False, judge: dict | None = None) -> list:
    """Materialize every job over every partition the source covers, stage by stage.

    A stage whose assets depend on an asset that failed, or whose blocking check failed, in an
    earlier stage does not run (Dagster blocks within a run; each stage is its own run)."""
    from pipeline.logs.ingest import SourceError, last_complete_day, logs_dir, source_days

    try:
        logs_dir(source)
    except SourceError as exc:
        raise UsageError(str(exc), "pass --source DIR pointing at a folder with a logs/ subfolder") from exc
    _require_salt()
    os.environ[environment.SOURCE_VAR] = str(source.resolve())
    covered = source_days(source)
    if covered is None:
        from pipeline.logs.ingest import discover

        files, unsupported = discover(source)
        if not files:
            raise UsageError(f"no log file under {source / 'logs'}"
                             + (f" (only {len(unsupported)} file(s) of other kinds)" if unsupported else ""),
                             "put the logs there as JSONL, JSONL.gz, CSV or Parquet files, in any sub-folder")
        if not any(f.size for f in files):
            raise UsageError(f"the {len(files)} log file(s) under {source / 'logs'} are empty", "nothing to run on yet")
        raise UsageError(f"no log record with a readable timestamp under {source / 'logs'}",
                         "check the files' format (JSONL, JSONL.gz, CSV, Parquet) and the timestamp field")
    first_day, last_day = covered
    if last_day > last_complete_day():
        # not lost: the day's partition exists once the day is over, and the next run loads it
        _say(f"records dated {last_complete_day() + timedelta(days=1)} or later wait until their day is over: "
             "the first run after that ingests them")
    environment.record_start_date(home, first_day)  # daily partitions start with the data
    # Dagster and the definitions load only now, after the partition start date is settled
    import dagster as dg

    from pipeline import runs
    from pipeline.definitions import defs
    from pipeline.jobs import (
        STAGES,
        blocked_assets,
        new_roots,
        partition_range,
        run_range,
        stage_assets,
    )

    _lock_home(home)
    os.environ[CONSOLE_VAR] = "1"  # long steps print their progress (counts, ETA, judge spend) here too
    instance = dg.DagsterInstance.get()
    _start_runs(instance)
    graph = defs.resolve_asset_graph()
    judging = {k.to_user_string() for k in graph.get_all_asset_keys() if "litellm" in graph.get(k).kinds}
    roots: dict = {}  # asset key -> why what depends on it must not run
    outcomes, skipped = [], []
    from tqdm import tqdm

    # a bar over the stages on a terminal; the lines below are the log either way
    with tqdm(total=len(STAGES), desc="evalfunnel run", unit="stage", disable=None, leave=False) as bar:
        for stage in STAGES:
            job = stage.job
            keys = partition_range(job, first_day, last_day) if job.partitions_def else ("", "")
            bar.set_postfix_str(stage.job.name)
            if keys is None:
                bar.write(f"skipping {stage.label}: no complete partition covers {first_day}..{last_day} yet")
                bar.update()
                continue
            selected = stage_assets(stage, graph)
            blocked = blocked_assets(graph, roots, selected)
            reasons = sorted({r for rs in blocked.values() for r in rs})
            assets = stage.assets
            if blocked:
                names = ", ".join(sorted(k.to_user_string() for k in blocked))
                skipped.append((stage.label, reasons))
                if len(blocked) == len(selected):
                    bar.write(f"skipping {stage.label}: blocked, {'; '.join(reasons)}")
                    bar.update()
                    continue
                assets = tuple(sorted(k.to_user_string() for k in selected if k not in blocked))
                bar.write(f"not running {names} of {stage.job.name}: blocked, {'; '.join(reasons)}")
            bar.write(f"running {stage.job.name}" + (f" ({', '.join(assets)})" if assets else "")
                      + (f" for {keys[0]}..{keys[1]}" if keys[0] else "") + " ...")
            runs.wait_for_slots(instance, bar.write, runs.STOPPER)
            runs.STOPPER.where = stage.label
            outcome = run_range(defs, job.name, keys[0], keys[1], instance, assets, debug=debug, stopper=runs.STOPPER,
                                judge=judge)
            _report_stage(outcome, bar.write, lambda line: bar.write(line, file=sys.stderr))
            outcomes.append(outcome)
            if outcome.interrupted:
                runs.STOPPER.last_run = outcome.run_id
                raise KeyboardInterrupt
            roots.update(new_roots(outcome))
            bar.update()
            if judge and judge.get("dry_run") and outcome.success and {k.to_user_string() for k in selected} & judging:
                break  # the estimate is out; every later stage would judge on what was not judged
    failed_checks = [f"{check} on {asset}" for o in outcomes for asset, check in o.failed_checks]
    if failed_checks:
        stopped = ", ".join(dict.fromkeys(label for label, _ in skipped))
        raise UsageError(f"blocking check {', '.join(dict.fromkeys(failed_checks))} failed"
                         + (f"; not run: {stopped}" if stopped else ""),
                         "the check's metadata in the UI (evalfunnel dev) says what it found; nothing that depends on "
                         "the checked data was built from it", code=CHECK_BLOCKED)
    failed = [o for o in outcomes if not o.success]
    if failed:
        steps = ", ".join(dict.fromkeys(e.split(":", 1)[0].split(" (", 1)[0] for o in failed for e in o.errors)) or (
            ", ".join(o.job for o in failed))
        raise UsageError(f"the pipeline run failed in {steps}" + (f"; not run: {', '.join(dict.fromkeys(l for l, _ in skipped))}"
                                                               if skipped else ""),
                         "each failure's line above has its cause; re-run with --debug for the tracebacks",
                         code=STEP_FAILED)
    return outcomes


def _summary(home: environment.Home) -> None:
    from pipeline.warehouse import connect, statement, table_counts

    counts = table_counts(home.warehouse, SUMMARY_TABLES)
    print("\nwarehouse tables:")
    for table, n in counts.items():
        print(f"  {table:<18} {'(not built)' if n is None else f'{n:,} rows'}")
    with connect(home.warehouse, read_only=True) as con:
        read, loaded, rejected, dups = con.execute(statement("logs/ingest_totals")).fetchone()
        reasons = con.execute(statement("logs/rejects_by_field")).fetchall()
        replaced = con.execute(statement("privacy/all_replacements")).fetchall()
        decisions = con.execute(statement("experiments/decisions")).fetchall() if counts.get("experiment_summary") else []
        attention = (con.execute(statement("calibration/needs_attention")).fetchall()
                     if counts.get("calibration_history") else [])
        has_purges = con.execute("select count(*) from information_schema.tables where table_name = 'raw_purges'").fetchone()[0]
        purged = con.execute("select count(*), max(log_date) from raw_purges").fetchone() if has_purges else (0, None)
        has_event_rejects = con.execute("select count(*) from information_schema.tables "
                                        "where table_name = 'event_rejects'").fetchone()[0]
        event_rejects = (con.execute("select problem, count(*) from event_rejects group by problem order by 2 desc")
                         .fetchall() if has_event_rejects else [])
    print(f"\nrecords read {read:,} = loaded {loaded:,} + rejected {rejected:,} + duplicates {dups:,}")
    if replaced:
        print("PII replaced in clean_logs: " + ", ".join(f"{kind} {n:,}" for kind, n in replaced))
    if reasons:
        print("rejects by field: " + ", ".join(f"{f} {n}" for f, n in reasons) + "  (see table log_rejects)")
    if purged[0]:
        from pipeline.privacy.cleaning import RETENTION_VAR, retention_days

        print(f"raw_logs and log_rejects no longer hold {purged[0]:,} day(s) up to {purged[1]}: purged after cleaning "
              f"({RETENTION_VAR}={retention_days()}); their counts stay in log_partitions")
    if event_rejects:
        print("events rejected: " + ", ".join(f"{problem} {n:,}" for problem, n in event_rejects)
              + "  (see table event_rejects)")
    if decisions:
        print("experiments: " + "; ".join(f"{eid} {decision}" for eid, decision in decisions) + "  (see experiment_summary)")
    by_version: dict[str, dict[str, list[str]]] = {}
    for month, version, recalibrate, drifted in attention:
        for what, dims in (("recalibrate", recalibrate), ("drifted", drifted)):
            if dims:
                by_version.setdefault(version, {}).setdefault(what, []).append(f"{month} ({', '.join(dims)})")
    for version, found in by_version.items():
        print(f"judge {version}: " + "; ".join(f"{what} {', '.join(months)}" for what, months in found.items())
              + "  (see calibration_history)")
    if (home.report_dir / "index.html").exists():
        print(f"\nreport:           {home.report_dir / 'index.html'}")
    print(f"warehouse:        {home.warehouse}")
    print(f"dagster instance: {home.dagster_home}")
    # the command that opens this home's instance (a bare `evalfunnel dev` opens ./.evalfunnel)
    default = home.root == (Path.cwd() / ".evalfunnel").resolve()
    print("open the UI:      " + ("make dev   (or: evalfunnel dev)" if default
                                  else f"evalfunnel dev --home {shlex.quote(str(home.root))}"))


def _require_salt() -> None:
    if not os.environ.get(environment.SALT_VAR, "").strip():
        raise UsageError(f"{environment.SALT_VAR} is not set: clean_logs needs a secret key to pseudonymize ids and PII",
                         f"export {environment.SALT_VAR}=$(python3 -c 'import secrets; print(secrets.token_hex(32))') "
                         "and keep it: the same key gives the same pseudonyms on every run")


def _judge_controls(args: argparse.Namespace) -> dict[str, object]:
    """The judge's config for this command's runs: EVALFUNNEL_JUDGE_* overridden by the flags,
    checked before anything runs, with one budget scope for the whole command."""
    import uuid

    from pipeline.judge.controls import CONTROLS, LOCAL_JUDGE, ControlError, judge_config

    try:
        config = judge_config(os.environ, {c.field: getattr(args, c.field, None) for c in CONTROLS})
    except ControlError as exc:
        raise UsageError(str(exc), "evalfunnel run --help lists the judge's controls") from exc
    config["budget_scope"] = f"command-{uuid.uuid4()}"
    model = str(config.get("model") or LOCAL_JUDGE)
    budget = float(config.get("max_cost_usd") or 0)
    if model != LOCAL_JUDGE:
        key_env = str(config.get("api_key_env") or "")
        if key_env and not os.environ.get(key_env, "").strip():
            raise UsageError(f"{key_env} is not set: --api-key-env names it as the variable holding the key for {model}",
                             f"export {key_env}=... (the key is read from it at run time and never stored)")
        from pipeline.judge.client import LLMClient, LLMSettings

        priced = "input_price_per_mtok" in config or "output_price_per_mtok" in config
        if not priced and not LLMClient(LLMSettings(model=model)).price_known:
            if budget > 0:
                raise UsageError(f"no price is known for {model}, so a budget of ${budget:g} cannot be kept",
                                 "give its prices: --price-input and --price-output (USD per million tokens), or "
                                 "EVALFUNNEL_JUDGE_PRICE_INPUT and EVALFUNNEL_JUDGE_PRICE_OUTPUT")
            _warn(f"evalfunnel: warning: no price is known for {model}: its calls are counted but their cost shows as "
                  "unknown, not $0; give --price-input and --price-output (USD per million tokens) to track spend")
    if budget > 0 or config.get("dry_run"):
        _say(f"judge: {model}" + (f", budget ${budget:g} for this command" if budget > 0 else "")
             + (", dry run: nothing will be called" if config.get("dry_run") else ""))
    return config


def _executor_note() -> None:
    """`run` and `backfill` execute their runs in this process: say so when a distributed executor is set."""
    if os.environ.get("EVALFUNNEL_EXECUTOR", "").strip():
        print("evalfunnel: note: run and backfill execute in this process; EVALFUNNEL_EXECUTOR="
              f"{os.environ['EVALFUNNEL_EXECUTOR'].strip()} applies to runs the Dagster daemon, the UI or "
              "`dagster job execute` launch (README, Running for a team)", file=sys.stderr)


def _check_warehouse(home: environment.Home) -> None:
    """An existing warehouse must be readable by the installed DuckDB: said up front, with how
    to move on, instead of as every step's failure."""
    from pipeline.warehouse import Lake, WarehouseConfigError, WarehouseFormatError, connect

    import duckdb

    try:
        target = home.warehouse
    except WarehouseConfigError as exc:
        raise UsageError(str(exc), "see README, Running for a team") from exc
    if isinstance(target, Lake):  # attach once up front: a wrong catalog or data path is said here, not by every step
        try:
            with connect(target):
                return
        except WarehouseConfigError as exc:
            raise UsageError(str(exc), "check EVALFUNNEL_WAREHOUSE and EVALFUNNEL_LAKE_DATA (README, Running for a "
                                       "team)") from exc
    if not target.exists():
        return
    try:
        with connect(target, read_only=True):
            pass
    except WarehouseFormatError as exc:
        raise UsageError(str(exc), exc.hint) from exc
    except duckdb.Error:
        return  # held by another command (the run waits for it) or unreadable for another reason: the run says


def cmd_run(args: argparse.Namespace) -> int:
    home = environment.prepare(Path(args.home) if args.home else None)
    _check_warehouse(home)
    _executor_note()
    t0 = time.perf_counter()
    judge = _judge_controls(args)
    _run_graph(home, _source(args, home) if remote_source(args.source) else Path(args.source), args.debug, judge)
    if judge.get("dry_run"):
        _dry_run_summary(judge)
        return 0
    _summary(home)
    _spend_summary(home, judge)
    print(f"done in {time.perf_counter() - t0:.0f}s")
    return 0


def _dry_run_summary(judge: dict) -> None:
    print(f"\ndry run: stopped before the first paid call; nothing was sent to {judge.get('model') or 'the judge'}. "
          "The estimate above is what the judging stage would call (cached items are free). Run the same command "
          "without --dry-run to judge.")


def _spend_summary(home: environment.Home, judge: dict) -> None:
    """What this command's judge calls cost, step by step (judge_spend)."""
    from pipeline.warehouse import connect, statement

    with connect(home.warehouse, read_only=True) as con:
        rows = con.execute(statement("judge/spend_by_asset"), {"scope": judge["budget_scope"]}).fetchall()
    if not rows or not any(calls for _, calls, _, _ in rows):
        return
    budget = float(judge.get("max_cost_usd") or 0)
    total = sum(cost for _, _, cost, _ in rows)
    print("judge spend: " + ", ".join(f"{asset} {calls:,} calls ${cost:.4f}" for asset, calls, cost, _ in rows if calls)
          + f"; total ${total:.4f}" + (f" of a ${budget:g} budget" if budget > 0 else ""))
    skipped = sum(n for *_, n in rows)
    if skipped:
        print(f"  {skipped:,} item(s) were left unjudged by the budget: run again with a higher --budget-usd to judge them")


# ---- demo --------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    home = environment.prepare(Path(args.home) if args.home else None)
    source = home.demo_source
    from pipeline.demo.generator import GENERATOR_VERSION

    wanted = {"interactions": args.interactions, "months": args.months, "seed": args.seed, "generator": GENERATOR_VERSION}
    stamp = source / "gold" / "demo_config.json"
    if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(source, ignore_errors=True)
        _generate(source, args.months, args.interactions, args.seed)
        stamp.write_text(json.dumps(wanted))
    else:
        print(f"demo source up to date: {source}")
    if environment.demo_salt(home):
        print(f"created a local pseudonymization key for the demo at {home.root / 'pii_salt'} "
              f"(for your own data set {environment.SALT_VAR} instead)")
    t0 = time.perf_counter()
    try:
        _check_warehouse(home)
    except UsageError:  # the demo's warehouse is rebuilt from its generated source with the free local judge
        if not isinstance(home.warehouse, Path):
            raise
        aside = home.warehouse.with_name(home.warehouse.name + ".newer-duckdb")
        home.warehouse.rename(aside)
        print(f"the demo warehouse was written by a newer DuckDB: moved to {aside} and rebuilt")
    _run_graph(home, source, args.debug)
    _summary(home)
    print(f"demo done in {time.perf_counter() - t0:.0f}s (the source is {source})")
    return 0


# ---- backfill ----------------------------------------------------------------------------

def cmd_backfill(args: argparse.Namespace) -> int:
    """One partitioned job over a range of partitions, in a single run on this home's instance
    (what the UI's "Materialize" over a partition range does)."""
    from pipeline.warehouse import Lake

    home = environment.prepare(Path(args.home) if args.home else None)
    target = home.warehouse
    # a lake is asked as the run will attach it (writable), and the run reuses that attach
    if not (target.exists(writable=True) if isinstance(target, Lake) else target.exists()):
        raise UsageError(f"no warehouse at {target}", "run `evalfunnel run --source DIR` (or `make demo`) first")
    _check_warehouse(home)
    _executor_note()
    source = _source(args, home)
    if (home.root / "pii_salt").exists():
        environment.demo_salt(home)  # the demo home's key, unless EVALFUNNEL_PII_SALT is set
    _require_salt()
    os.environ[environment.SOURCE_VAR] = str(source.resolve())
    judge = _judge_controls(args)
    try:
        first, last = (date.fromisoformat(d) for d in (args.start, args.end))
    except ValueError as exc:
        raise UsageError(f"--from and --to must be dates (YYYY-MM-DD): {exc}", "for example --from 2026-05-01") from exc
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.jobs import partition_range, run_range

    jobs = {j.name: j for j in defs.jobs if j.partitions_def is not None}
    if args.job not in jobs:
        raise UsageError(f"{args.job} is not a partitioned job", f"one of: {', '.join(sorted(jobs))}")
    keys = partition_range(jobs[args.job], first, last)
    if keys is None:
        raise UsageError(f"no complete {args.job} partition overlaps {first}..{last}",
                         "partitions end with the last complete day, month or quarter")
    from pipeline import runs

    _lock_home(home)
    os.environ[CONSOLE_VAR] = "1"
    instance = dg.DagsterInstance.get()
    _start_runs(instance)
    print(f"backfilling {args.job} for {keys[0]}..{keys[1]} in one run ...", flush=True)
    runs.STOPPER.where = args.job
    outcome = run_range(defs, args.job, keys[0], keys[1], instance, debug=args.debug, stopper=runs.STOPPER, judge=judge)
    _report_stage(outcome)
    if outcome.interrupted:
        runs.STOPPER.last_run = outcome.run_id
        raise KeyboardInterrupt
    if outcome.failed_checks:
        raise UsageError("blocking check " + ", ".join(f"{c} on {a}" for a, c in outcome.failed_checks) + " failed",
                         "the check's metadata in the UI (evalfunnel dev) says what it found", code=CHECK_BLOCKED)
    if not outcome.success:
        raise UsageError("the backfill failed in " + (", ".join(e.split(":", 1)[0].split(" (", 1)[0] for e in outcome.errors) or args.job),
                         "the failure's line above has its cause; re-run with --debug for the traceback",
                         code=STEP_FAILED)
    if not judge.get("dry_run"):
        _spend_summary(home, judge)
    return 0


# ---- report ------------------------------------------------------------------------------

def _judge_version(args: argparse.Namespace) -> str:
    """The version of the judge whose scores a command reads: --judge-model, else
    EVALFUNNEL_JUDGE_MODEL, else the local judge (as pipeline.definitions configures it)."""
    from pipeline.judge.prompt import TEMPLATE_VERSION
    from pipeline.judge.rubric import judge_version, load_rubric

    model = args.judge_model or os.environ.get("EVALFUNNEL_JUDGE_MODEL") or "evalfunnel/heuristic"
    return judge_version(model, load_rubric(args.rubric), TEMPLATE_VERSION)


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report.html import build_report, write_report
    from pipeline.warehouse import connect

    home = environment.prepare(Path(args.home) if args.home else None)
    if not home.warehouse.exists():
        raise UsageError(f"no warehouse at {home.warehouse}", "run `evalfunnel run --source DIR` (or `make demo`) first")
    version = _judge_version(args)
    from tqdm import tqdm

    with tqdm(total=2, desc="report", unit="step", disable=None) as bar:
        with connect(home.warehouse, read_only=True) as con:
            built = build_report(con, version, baseline=args.baseline)
        bar.update()
        path = write_report(built, Path(args.out) if args.out else home.report_dir)
        bar.update()
    print(f"report: {path} ({built.charts} charts, {len(built.html) // 1024} KB; opens offline)")
    return 0


# ---- migrate -----------------------------------------------------------------------------

def cmd_migrate(args: argparse.Namespace) -> int:
    from pipeline.migrate import MigrateError, migrate
    from pipeline.warehouse import LAKE_DATA_VAR, Lake, WarehouseConfigError, parse

    home = environment.prepare(Path(args.home) if args.home else None)
    try:
        source = home.warehouse
        target = parse(args.to, args.lake_data or os.environ.get(LAKE_DATA_VAR, ""), home.root, setting="--to",
                       data_setting="--lake-data")
    except WarehouseConfigError as exc:
        raise UsageError(str(exc), "see `evalfunnel migrate --help`") from exc
    if not args.to.strip():
        raise UsageError("--to is empty", "give ducklake:postgres:..., ducklake:sqlite:... or the path of a new file")
    if not source.exists():
        raise UsageError(f"no warehouse at {source}", "run `evalfunnel run --source DIR` (or `make demo`) first")
    print(f"copying {source}\n     to {target}")
    try:
        done = migrate(source, target, say=print)
    except (MigrateError, WarehouseConfigError) as exc:
        raise UsageError(str(exc)) from exc
    except (KeyboardInterrupt, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "interrupted" not in str(exc).lower():
            raise
        raise UsageError("migrate was interrupted before the copy was committed: the target is as it was",
                         "run the same command again", code=130) from exc
    print(f"migrated {len(done.rows)} tables, {sum(done.rows.values()):,} rows in {done.seconds:.1f}s; every table's "
          "row count and checksum match")
    if done.left_behind:
        print(f"left behind (not in this version's schema): {', '.join(done.left_behind)}")
    if isinstance(target, Lake):
        catalog = re.sub(r"(?i)\s*password\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s\\]|\\.)+)", "", target.catalog)
        catalog = re.sub(r"(?i)(\w+://[^:/@\s]*):[^@\s]*@", r"\1@", catalog)
        print(f"to use it: export EVALFUNNEL_WAREHOUSE={shlex.quote(catalog)} "
              f"EVALFUNNEL_LAKE_DATA={shlex.quote(target.data_path)}"
              + ("  (and the password in PGPASSWORD or ~/.pgpass)" if catalog != target.catalog else ""))
    elif target == home.root / "warehouse.duckdb":
        print("to use it: unset EVALFUNNEL_WAREHOUSE")
    else:
        print(f"to use it: unset EVALFUNNEL_WAREHOUSE and move {target} to {home.root / 'warehouse.duckdb'} (or "
              f"use --home {target.parent} if it is named warehouse.duckdb)")
    return 0


# ---- gate --------------------------------------------------------------------------------

def cmd_gate(args: argparse.Namespace) -> int:
    """Exit 0 when the candidate may replace the baseline, 1 when a check fails (2 on errors)."""
    from pipeline.report.gate import GateConfig, GateError, evaluate, render
    from pipeline.warehouse import connect

    home = environment.prepare(Path(args.home) if args.home else None)
    if not home.warehouse.exists():
        raise UsageError(f"no warehouse at {home.warehouse}", "run `evalfunnel run --source DIR` (or `make demo`) first")
    source = _source(args, home, required=False)
    try:
        config = GateConfig.load(source / "gate.yaml")
    except GateError as exc:
        raise UsageError(str(exc), "fix gate.yaml (see the README's Release gate section)") from exc
    if args.margin is not None:
        config.slice_margin = args.margin
    if args.pareto_tolerance is not None:
        config.pareto_tolerance = args.pareto_tolerance
    if args.slice:
        config.high_stakes_slices = {"topic": [s.split("=", 1)[-1] for s in args.slice]}
    version = _judge_version(args)
    try:
        with connect(home.warehouse, read_only=True) as con:
            result = evaluate(con, args.candidate, args.baseline, version, config)
    except GateError as exc:
        raise UsageError(f"gate: {exc}", "run the rate_candidates job (`evalfunnel run`) for these variants first") from exc
    print(json.dumps(result.as_json(), indent=2, default=str) if args.json else render(result))
    return 0 if result.passed else 1


# ---- regression add ----------------------------------------------------------------------

def cmd_regression_add(args: argparse.Namespace) -> int:
    from pipeline.evalsets.regression import load_cases, parse_case, promoted_case
    from pipeline.warehouse import connect, statement

    home = environment.prepare(Path(args.home) if args.home else None)
    if not home.warehouse.exists():
        raise UsageError(f"no warehouse at {home.warehouse}", "run `evalfunnel run --source DIR` (or `make demo`) first")
    source = _source(args, home, required=False, holds="regression_set.jsonl")
    target = source / "regression_set.jsonl"
    with connect(home.warehouse, read_only=True) as con:
        row = con.execute(statement("evalsets/logged_request"), {"request_id": args.request_id}).fetchone()
    if row is None:
        raise UsageError(f"request {args.request_id} is not in clean_logs", "use a request_id from the clean_logs table")
    case = promoted_case(args.request_id, row[0], row[1], args.reason)
    parse_case(case)  # the same validation the loader applies
    if any(c.case_id == case["case_id"] for c in load_cases(target).cases):
        raise UsageError(f"{target} already has case {case['case_id']}", "edit that case instead of adding it again")
    with target.open("a", encoding="utf-8") as fh:
        if target.stat().st_size and not target.read_bytes().endswith(b"\n"):
            fh.write("\n")
        fh.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"added case {case['case_id']} to {target} (anonymized text from clean_logs); commit the file, and the next "
          "run of load_regression_set records it and keeps it out of eval sets")
    return 0


# ---- dev ---------------------------------------------------------------------------------

def cmd_dev(args: argparse.Namespace) -> int:
    home = environment.prepare(Path(args.home) if args.home else None)
    args.source = None
    _check_warehouse(home)  # a wrong EVALFUNNEL_WAREHOUSE is said here, not by every run launched from the UI
    if os.environ.get(environment.SOURCE_VAR):
        _source(args, home)  # a source that was named must exist
    os.environ.setdefault(environment.SOURCE_VAR, str(home.demo_source))
    if (home.root / "pii_salt").exists():
        environment.demo_salt(home)  # the demo home's key, unless EVALFUNNEL_PII_SALT is set
    print(f"Dagster UI on the instance in {home.dagster_home} (Ctrl-C to stop)")
    os.execv(sys.executable, [sys.executable, "-m", "dagster", "dev", "-m", "pipeline.definitions",
                              "--host", args.host, "--port", str(args.port)])
    return 0


HOME_HELP = ("the folder holding this project's warehouse, Dagster instance and report (default: EVALFUNNEL_HOME, "
             "else ./.evalfunnel)")


def _command(sub, name: str, summary: str, details: str, examples: list[str]) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does in one line, then how, then examples."""
    return sub.add_parser(name, help=summary, description=f"{summary}.\n\n{details}",
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _judge_flags(p: argparse.ArgumentParser) -> None:
    from pipeline.judge.controls import CONTROLS

    group = p.add_argument_group("the judge's cost and rate controls (each also an EVALFUNNEL_JUDGE_* variable; "
                                 "the flag wins)")
    for c in CONTROLS:
        if c.kind is bool:
            group.add_argument(c.flag, dest=c.field, action="store_true", help=f"{c.help} [{c.variable}]")
        else:
            group.add_argument(c.flag, dest=c.field, metavar=c.kind.__name__.upper().replace("STR", "TEXT"),
                               help=f"{c.help} [{c.variable}]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evalfunnel", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    def demo_sizes(p: argparse.ArgumentParser) -> None:
        p.add_argument("--months", type=int, default=6, help="months of history (default 6)")
        p.add_argument("--interactions", type=int, default=50_000, help="logged interactions (default 50000)")
        p.add_argument("--seed", type=int, default=7, help="the generator's random seed (default 7)")

    p = _command(sub, "demo", "generate demo data and materialize the whole graph on it",
                 "Writes a synthetic source with planted truths into the home (once per size and seed), runs every "
                 "stage on the embedded default (DuckDB file, SQLite Dagster instance, local judge) and prints where "
                 "the report is.", ["evalfunnel demo", "evalfunnel demo --months 3 --interactions 20000 --home /tmp/ef"])
    p.add_argument("--home", help=HOME_HELP)
    demo_sizes(p)
    p.set_defaults(func=cmd_demo)

    p = _command(sub, "demo-data", "write a complete synthetic source directory",
                 "logs/, experiments/, assignments/, events/, human_labels/, candidate_responses/ and the planted "
                 "truths under gold/, in the layout `evalfunnel run --source` reads.",
                 ["evalfunnel demo-data --out /tmp/demo-source --months 2"])
    p.add_argument("--out", required=True, help="folder to write")
    demo_sizes(p)
    p.set_defaults(func=cmd_demo_data)

    p = _command(sub, "run", "materialize the whole graph for every partition a source covers",
                 "Stage by stage: ingest and clean the logs, rebuild the eval set, judge, rate the candidates, analyze "
                 "the experiments, calibrate, write the report. Before a judging stage calls a model, its estimate "
                 "(calls, tokens, USD, cache hits) is printed; a budget covers every judging stage of the command "
                 "together. Exit codes: 0 done, 1 a step failed, 2 a usage error, 3 a blocking check failed.",
                 ["EVALFUNNEL_PII_SALT=... evalfunnel run --source ./my-logs",
                  "evalfunnel run --source ./my-logs --judge-model gpt-4o-2024-08-06 --budget-usd 20 --dry-run",
                  "evalfunnel run --source ./my-logs --judge-model openai/my-model --judge-api-base http://127.0.0.1:8000/v1 "
                  "--api-key-env MY_KEY --price-input 0.5 --price-output 1.5 --budget-usd 5 --rpm 300"])
    p.add_argument("--source", required=True, help="source directory (logs/, and optionally experiments/, "
                                                   "assignments/, events/, human_labels/, candidate_responses/, ...)")
    p.add_argument("--home", help=HOME_HELP)
    _judge_flags(p)
    p.set_defaults(func=cmd_run)

    p = _command(sub, "backfill", "run a partitioned job (e.g. monthly_judge_validation) over a date range",
                 "One run over every partition of the job that overlaps --from..--to, on this home's instance (what "
                 "the UI's Materialize over a partition range does). The judge's controls apply as for `run`.",
                 ["evalfunnel backfill monthly_judge_validation --from 2026-01-01 --to 2026-06-30",
                  "evalfunnel backfill daily_ingest --from 2026-05-01 --to 2026-05-31 --source ./my-logs"])
    p.add_argument("job", help="a partitioned job: daily_ingest, monthly_judge_validation, quarterly_eval_rebuild, ...")
    p.add_argument("--from", dest="start", required=True, help="first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", required=True, help="last day (YYYY-MM-DD)")
    p.add_argument("--source", help="source directory (default EVALFUNNEL_SOURCE, or the demo's)")
    p.add_argument("--home", help=HOME_HELP)
    _judge_flags(p)
    p.set_defaults(func=cmd_backfill)

    p = _command(sub, "report", "write the weekly HTML report (self-contained, opens offline)",
                 "Reads the warehouse only: calibration, offline versus online, experiments, ratings, the eval set "
                 "and the outputs to read this week, as one HTML file with inline charts.",
                 ["evalfunnel report", "evalfunnel report --out /tmp/report --baseline control"])
    p.add_argument("--out", help="folder for index.html (default EVALFUNNEL_HOME/report)")
    p.add_argument("--baseline", default="baseline", help="the variant candidates are compared with (default baseline)")
    p.add_argument("--judge-model", help="the judge whose scores to show (default EVALFUNNEL_JUDGE_MODEL or the local one)")
    p.add_argument("--rubric", help="the rubric YAML the judge used (default: the packaged rubric-v1)")
    p.add_argument("--home", help=HOME_HELP)
    p.set_defaults(func=cmd_report)

    p = _command(sub, "migrate", "copy this home's warehouse into another backend (embedded file <-> DuckLake)",
                 "Copies every table of the current warehouse (the embedded file, or the lake EVALFUNNEL_WAREHOUSE "
                 "names) into --to, which must hold no rows yet, in one transaction; then compares both sides table by "
                 "table (row counts and checksums). The source is only read. Afterwards point EVALFUNNEL_WAREHOUSE at "
                 "the target. A password belongs in PGPASSWORD or ~/.pgpass, not in the connection string.",
                 ["evalfunnel migrate --to 'ducklake:postgres:host=db.internal dbname=evals user=evalfunnel' "
                  "--lake-data /shared/evals-lake",
                  "evalfunnel migrate --to ducklake:sqlite:/srv/evals/catalog.sqlite --lake-data /srv/evals/data",
                  "EVALFUNNEL_WAREHOUSE=ducklake:sqlite:/srv/evals/catalog.sqlite EVALFUNNEL_LAKE_DATA=/srv/evals/data "
                  "evalfunnel migrate --to /tmp/warehouse.duckdb"])
    p.add_argument("--to", required=True, help="ducklake:postgres:<libpq string>, ducklake:sqlite:<catalog file>, or "
                                               "the path of a new DuckDB file")
    p.add_argument("--lake-data", help="where a lake target keeps its Parquet files (default EVALFUNNEL_LAKE_DATA)")
    p.add_argument("--home", help=HOME_HELP)
    p.set_defaults(func=cmd_migrate)

    p = _command(sub, "gate", "release gate: exit 1 when the candidate regresses against the baseline",
                 "Compares the candidate's judge scores with the baseline's on every slice (and the high-stakes ones "
                 "in gate.yaml), its regression-set results and the Pareto frontier. Exit 0: pass; 1: a regression; "
                 "2: a usage error.",
                 ["evalfunnel gate --candidate model-upgrade --baseline baseline",
                  "evalfunnel gate --candidate v2 --baseline v1 --slice topic=billing --margin 0.2 --json"])
    p.add_argument("--candidate", required=True, help="the variant to release (a variant of candidate_responses)")
    p.add_argument("--baseline", required=True, help="the variant it must not regress against")
    p.add_argument("--json", action="store_true", help="print the result as JSON (for CI systems)")
    p.add_argument("--slice", action="append", metavar="topic=VALUE",
                   help="a high-stakes slice (repeatable; default: gate.yaml, else every topic)")
    p.add_argument("--margin", type=float, help="largest allowed drop of a slice's mean score, in rubric points (0.3)")
    p.add_argument("--pareto-tolerance", type=float, help="rating points another variant may lead by (25)")
    p.add_argument("--judge-model", help="the judge whose scores to use (default EVALFUNNEL_JUDGE_MODEL or the local one)")
    p.add_argument("--rubric", help="the rubric YAML the judge used (default: the packaged rubric-v1)")
    p.add_argument("--source", help="source directory holding gate.yaml (default EVALFUNNEL_SOURCE, or the demo's)")
    p.add_argument("--home", help=HOME_HELP)
    p.set_defaults(func=cmd_gate)

    p = _command(sub, "regression", "manage the regression set",
                 "The regression set is regression_set.jsonl in the source: cases every candidate is checked on.",
                 ["evalfunnel regression add 3f2a9c --reason 'answered in the wrong currency'"])
    reg = p.add_subparsers(dest="regression_command", required=True)
    p = _command(reg, "add", "promote a logged failure (anonymized) into regression_set.jsonl",
                 "Takes the request from clean_logs (already anonymized), so no personal data reaches the file.",
                 ["evalfunnel regression add 3f2a9c --reason 'answered in the wrong currency' --source ./my-logs"])
    p.add_argument("request_id", help="the logged request's request_id")
    p.add_argument("--reason", required=True, help="what went wrong, in a sentence")
    p.add_argument("--source", help="source directory holding regression_set.jsonl (default EVALFUNNEL_SOURCE)")
    p.add_argument("--home", help=HOME_HELP)
    p.set_defaults(func=cmd_regression_add)

    p = _command(sub, "dev", "open the Dagster UI on this home's instance",
                 "Serves the asset graph, runs, partitions and every materialization's metadata; jobs launched here "
                 "run on the same warehouse.", ["evalfunnel dev", "evalfunnel dev --home /tmp/ef --port 3001"])
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="the port (default 3000)")
    p.set_defaults(func=cmd_dev)
    # --debug is accepted after the command too (`evalfunnel run ... --debug`), as the hints say
    for command in list(sub.choices.values()) + list(reg.choices.values()):
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line's entry point. The `evalfunnel` program itself (`argv` None) ends at once
    when its command is done: exit handlers run and output is flushed, but the interpreter's
    teardown of the loaded modules (Dagster, Polars, DuckDB: ~0.4-0.8 s, a tenth of a short
    backfill) is skipped, unless a thread that is not a daemon still runs or a profiler or
    tracer (cProfile, a debugger) waits to write its results after the program."""
    code = _dispatch(argv)
    if (argv is None and sys.getprofile() is None and sys.gettrace() is None
            and all(t.daemon or t is threading.main_thread() for t in threading.enumerate())):
        _exit_now(code)
    return code


def _exit_now(code: int) -> NoReturn:
    """What the interpreter does at exit that matters (exit handlers: logging's flush, the judge's
    process pools; the standard streams flushed), then the process ends."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the program was started with the stream closed (`>&-`)
                stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def _dispatch(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # the stage lines arrive as they happen, also through a pipe
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    # partitioned asset checks (preview) and backfill policies on assets (beta): relied on knowingly
    warnings.filterwarnings("ignore", message=".*currently in (preview|beta).*")
    try:
        return args.func(args)
    except UsageError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"evalfunnel: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.code
    except environment.HomePathError as exc:
        print(f"evalfunnel: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        runs = sys.modules.get("pipeline.runs")
        if runs is None:  # before any run started: nothing to say about runs
            print("evalfunnel: interrupted", file=sys.stderr)
            return 130
        stopper = runs.STOPPER
        where = f" during {stopper.where}" if stopper.where else ""
        run = f"; run {stopper.last_run[:8]} is marked failed" if stopper.last_run else ""
        print(f"evalfunnel: stopped by {stopper.signal_name}{where}{run}", file=sys.stderr)
        print("  hint: run the same command again to finish; what was done is kept", file=sys.stderr)
        if argv is None:  # the `evalfunnel` program itself (in-process callers pass their argv)
            sys.stdout.flush()
            sys.stderr.flush()
            # the run is marked failed and its slots are free; tearing the interpreter down (thread
            # pools, a reader thread still in DuckDB) can take seconds, and a stop should not
            os._exit(stopper.exit_code)
        return stopper.exit_code
    except Exception as exc:  # noqa: BLE001  (the last line of defence: one readable line)
        if args.debug:
            traceback.print_exc()
        from pipeline.warehouse import WarehouseConfigError, WarehouseFormatError

        if isinstance(exc, WarehouseFormatError):  # a command that opens the warehouse directly (report, gate)
            print(f"evalfunnel: error: {exc}", file=sys.stderr)
            print(f"  hint: {exc.hint}", file=sys.stderr)
            return 2
        if isinstance(exc, WarehouseConfigError):
            print(f"evalfunnel: error: {exc}", file=sys.stderr)
            print("  hint: check EVALFUNNEL_WAREHOUSE and EVALFUNNEL_LAKE_DATA (README, Running for a team)",
                  file=sys.stderr)
            return 2
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"evalfunnel: error: {type(exc).__name__}: {first}", file=sys.stderr)
        if not args.debug:
            print("  hint: re-run with --debug for the traceback", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
