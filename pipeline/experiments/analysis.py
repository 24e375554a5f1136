"""user_metrics by hash buckets of users, then experiment_results and experiment_summary from moments.

Decision rule (per experiment; every treatment against the control):
- invalid: the SRM test against the pre-registered allocation gives p < 0.001, or no users;
  results are still written, flagged `srm_invalid`, and no decision is drawn from them.
- ship: some treatment has at least one primary metric significantly better after Holm's
  correction across its pre-registered primary metrics (one that cannot be tested counts as
  p = 1), none significantly worse, and every guardrail passes its non-inferiority test. With several such treatments, the one with the largest chance to
  win on its first primary metric is named.
- do not ship: every treatment has a primary metric significantly worse, or a guardrail whose
  interval lies entirely beyond its margin (significant harm).
- inconclusive: anything else (not enough evidence either way).
Sequential experiments use the always-valid intervals and p-values for all of this.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.experiments.exposure import ISSUES, Registrations, analysed_users
from pipeline.experiments.registry import ExperimentSpec, MetricSpec
from pipeline.experiments.sources import register_source
from pipeline.experiments.stats import (
    Moments,
    arm_estimate,
    compare,
    cuped_estimate,
    cuped_theta,
    heterogeneity,
    holm,
    non_inferiority,
    power_analysis,
    srm_p_value,
)
from pipeline.experiments.windows import MetricPlan, event_metric_rows
from pipeline.warehouse import insert_rows, retrying, statement

SRM_THRESHOLD = 0.001
REBUILT = ("experiment_users", "user_metrics", "user_segments", "assignment_issues", "event_rejects")
# the large ones are built bucket by bucket as <table>_next beside the live table (each bucket
# committed, so its memory is freed), then swapped in with the others' rebuild in one transaction
BUILT_BESIDE = ("experiment_users", "user_metrics")


@dataclass(frozen=True)
class UserMetricsRun:
    assignment_files: int
    event_files: int
    users: int
    rows: int
    issues: dict[str, int]
    seconds: dict[str, float]  # per SQL step
    unreadable_files: list[tuple[str, str]] = field(default_factory=list)  # skipped, with why
    event_rejects: dict[str, int] = field(default_factory=dict)  # problem -> event rows kept in event_rejects


def _register(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict], schema: dict) -> None:
    con.register(name, pl.DataFrame(rows, schema=schema, orient="row").to_arrow())


def register_specs(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec]) -> None:
    """The pre-registrations as relations the SQL joins against."""
    _register(con, "exp_specs", [{"experiment_id": s.experiment_id, "start_date": s.start, "end_date": s.end,
                                  "pre_days": s.pre_period_days, "control": s.control} for s in specs],
              {"experiment_id": pl.String, "start_date": pl.Date, "end_date": pl.Date, "pre_days": pl.Int32,
               "control": pl.String})
    _register(con, "exp_variants", [{"experiment_id": s.experiment_id, "variant": v} for s in specs for v in s.variants],
              {"experiment_id": pl.String, "variant": pl.String})
    _register(con, "exp_metrics", [
        {"experiment_id": s.experiment_id, "metric": m, "kind": metrics[m].kind, "event": metrics[m].event,
         "denominator": metrics[m].denominator, "window_days": metrics[m].window_days}
        for s in specs for m in s.metrics if metrics[m].kind != "log"],
        {"experiment_id": pl.String, "metric": pl.String, "kind": pl.String, "event": pl.String,
         "denominator": pl.String, "window_days": pl.Int32})
    _register(con, "exp_log_metrics", [{"experiment_id": s.experiment_id, "metric": m} for s in specs for m in s.metrics
                                       if metrics[m].kind == "log"], {"experiment_id": pl.String, "metric": pl.String})
    _register(con, "exp_segments", [{"experiment_id": s.experiment_id, "dimension": d} for s in specs for d in s.segments],
              {"experiment_id": pl.String, "dimension": pl.String})


# The per-user work runs in hash buckets of users of about this many assignment rows (and
# events): each step then holds one bucket's users in memory. A source that fits one bucket is
# read straight from its files; a larger one is split once into a file per bucket.
BUCKET_ASSIGNMENTS = 400_000
BUCKET_EVENTS = 2_000_000
BUCKETS_MAX = 512  # the split keeps a file per bucket open (a common limit is 1,024 open files); past
# 200M assignment rows or 1G events the buckets grow instead
BATCH_ROWS = 1 << 20  # rows per Arrow batch while splitting
PREPARED_AHEAD = 2  # buckets prepared on worker threads while one is appended


def bucket_count(assignment_rows: int, event_rows: int) -> int:
    """How many hash buckets of users the rebuild splits the work into."""
    return min(BUCKETS_MAX, max(1, -(-assignment_rows // BUCKET_ASSIGNMENTS), -(-event_rows // BUCKET_EVENTS)))


def build_user_metrics(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec],
                       source: Path, hmac_pads: dict[str, bytes], log=lambda message: None) -> UserMetricsRun:
    """Rebuild experiment_users, user_metrics, user_segments, assignment_issues and event_rejects.

    Users are independent of each other, so the per-user work runs once per hash bucket of users
    (`bucket_count`): with more than one bucket, the valid assignment rows and the events some
    metric counts are first split into one Arrow file per bucket under the connection's temp
    directory (removed afterwards). Per bucket, on a worker thread: the analysed users and those
    left out (`exposure.analysed_users`), then their event metrics (`windows.event_metric_rows`);
    meanwhile this thread appends the previous bucket to experiment_users_next and
    user_metrics_next, new tables beside the live ones, each bucket committed so that its memory
    is freed (DuckDB keeps a registered Arrow table alive until the transaction that read it
    ends). One transaction then swaps them in and rebuilds the small tables: a failure before it
    leaves the previous tables as they were."""
    register_specs(con, specs, metrics)
    n_assign, assignment_rows, bad_assign = register_source(con, "assignments", source / "assignments")
    n_events, event_rows, bad_events = register_source(con, "events", source / "events")
    log(f"user_metrics: {len(specs)} experiment(s), {n_assign} assignment file(s), {n_events} event file(s)")
    unreadable = [(str(Path(path).relative_to(source)) if Path(path).is_relative_to(source) else path, problem)
                  for path, problem in bad_assign + bad_events]
    plan = MetricPlan.build(specs, metrics)
    timings: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def timed(name: str):
        t0 = time.perf_counter()
        yield
        timings[name] = round(timings[name] + time.perf_counter() - t0, 3)

    def step(name: str) -> None:
        with timed(name):
            con.execute(statement(f"experiments/{name}"))

    counts = {"assignments": assignment_rows, "events": event_rows}
    buckets = bucket_count(counts["assignments"], counts["events"])
    stage = _stage_folder(_temp_directory(con))
    left_out: dict[tuple[str, str], int] = defaultdict(int)  # (experiment, issue) -> users
    try:
        registrations = _registrations(con, specs)
        con.register("event_kinds", pa.table({"event": pa.array(plan.events, pa.string()),
                                              "kind": pa.array(range(len(plan.events)), pa.int32())}))
        for table in BUILT_BESIDE:
            con.execute(f"drop table if exists {table}_next")  # noqa: S608  (constant table names)
            con.execute(re.sub(rf"\b{table}\b", f"{table}_next", statement(f"schema/{table}")))
        # worker threads prepare the next buckets (their users and event metrics: numpy and
        # Arrow, which release the GIL) while this one appends a prepared bucket to the new
        # tables (DuckDB); while splitting, a writer thread sorts and writes the batches DuckDB reads
        with concurrent.futures.ThreadPoolExecutor(max_workers=PREPARED_AHEAD) as worker:
            if buckets > 1:
                log(f"user_metrics: {counts['assignments']:,} assignment rows, {counts['events']:,} events: "
                    f"{buckets} buckets of users")
                with concurrent.futures.ThreadPoolExecutor(max_workers=1) as writer:
                    for name in ("assignments", "events"):
                        with timed(f"split_{name}"):
                            _split(con, name, buckets, stage / name, writer)

            def submit(bucket: int) -> concurrent.futures.Future:
                return worker.submit(_prepare_bucket, plan, registrations, hmac_pads,
                                     *(_bucket_rows(con, name, stage, bucket, buckets) for name in ("assignments", "events")))

            pending = [submit(bucket) for bucket in range(min(PREPARED_AHEAD, buckets))]
            for bucket in range(buckets):
                with timed("wait_for_bucket"):
                    users, rows, bucket_left_out, seconds = pending.pop(0).result()
                for name, value in seconds.items():
                    timings[name] = round(timings[name] + value, 3)
                for key, n in bucket_left_out.items():
                    left_out[key] += n
                if bucket + PREPARED_AHEAD < buckets:
                    pending.append(submit(bucket + PREPARED_AHEAD))
                with timed("insert_experiment_users"):
                    _insert(con, "insert_experiment_users", "bucket_users", users)
                with timed("insert_user_metrics"):
                    _insert(con, "insert_user_metrics", "bucket_metrics", rows)
                del users, rows
        con.register("issue_counts", pa.table({
            "experiment_id": pa.array([e for e, _ in left_out], pa.string()),
            "issue": pa.array([i for _, i in left_out], pa.string()),
            "users": pa.array(list(left_out.values()), pa.int64()),
            "detail": pa.array([ISSUES[i] for _, i in left_out], pa.string())}))

        def swap() -> int:
            for table in BUILT_BESIDE:
                con.execute(f"drop table {table}")  # noqa: S608  (constant table names)
                con.execute(f"alter table {table}_next rename to {table}")  # noqa: S608
            for table in set(REBUILT) - set(BUILT_BESIDE):
                con.execute(f"delete from {table}")  # noqa: S608  (constant table names)
            step("assignment_issues")
            insert_rows(con, "insert into assignment_issues values ('?', 'unreadable_file', 0, ?)",
                        [(f"{path}: {problem}",) for path, problem in unreadable])
            step("event_rejects")
            users = con.execute("select count(*) from experiment_users").fetchone()[0]
            log(f"user_metrics: {users:,} users assigned, event metrics done; computing log metrics and segments")
            step("log_metrics")
            step("user_segments")
            return users

        # one transaction (retried on a lake's commit conflict: the rollback brings the _next tables back)
        users = retrying(con, swap, "user_metrics", log)
    finally:
        with contextlib.suppress(duckdb.Error):
            for name in ("issue_counts", "event_kinds"):
                con.unregister(name)
            for table in BUILT_BESIDE:  # left over only when the rebuild failed
                con.execute(f"drop table if exists {table}_next")  # noqa: S608  (constant table names)
        shutil.rmtree(stage, ignore_errors=True)
    rows = con.execute("select count(*) from user_metrics").fetchone()[0]
    issues = dict(con.execute("select issue, sum(users)::bigint from assignment_issues group by issue").fetchall())
    rejects = dict(con.execute("select problem, count(*) from event_rejects group by problem order by 2 desc").fetchall())
    return UserMetricsRun(n_assign, n_events, users, rows, issues, dict(timings), unreadable, rejects)


def _insert(con: duckdb.DuckDBPyConnection, name: str, view: str, table: pa.Table) -> None:
    """Run the insert sql/experiments/<name>.sql, which reads `table` as `view` (outside a
    transaction: DuckDB keeps a registered table alive until the transaction that read it ends)."""
    con.register(view, table)
    try:
        con.execute(statement(f"experiments/{name}"))
    finally:
        con.unregister(view)


def _registrations(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec]) -> Registrations:
    """The pre-registrations' dates as instants in the warehouse's time zone (experiment_dates.sql)."""
    dates = {e: (start, end) for e, start, end in con.execute(statement("experiments/experiment_dates")).fetchall()}
    return Registrations(experiments=[s.experiment_id for s in specs], variants=[set(s.variants) for s in specs],
                         start_us=np.array([dates[s.experiment_id][0] for s in specs], dtype=np.int64),
                         end_us=np.array([dates[s.experiment_id][1] for s in specs], dtype=np.int64))


def _prepare_bucket(plan: MetricPlan, registrations: Registrations, hmac_pads: dict[str, bytes],
                    assignments: pa.Table, events: pa.Table):
    """One bucket's analysed users, their event metric rows, the users left out per
    (experiment, issue) and the seconds each part took (on a worker thread)."""
    t0 = time.perf_counter()
    users, ids, left_out = analysed_users(assignments, registrations, hmac_pads)
    t1 = time.perf_counter()
    rows = event_metric_rows(users, ids, events, plan)
    return users, rows, left_out, {"analysed_users": t1 - t0, "event_metrics": time.perf_counter() - t1}


STAGE_PREFIX = "experiments-"


def _stage_folder(parent: str) -> Path:
    """A new folder for this rebuild's split files, `experiments-<pid>-<random>`. Folders that a
    process no longer running left behind (killed mid-rebuild: they hold the source's raw user
    ids) are removed first."""
    for old in Path(parent).glob(f"{STAGE_PREFIX}*"):
        pid = old.name[len(STAGE_PREFIX):].split("-", 1)[0]
        if old.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temp_directory(con: duckdb.DuckDBPyConnection) -> str:
    """The connection's spill folder (created if need be), else the system's temp folder."""
    folder = con.execute("select current_setting('temp_directory')").fetchone()[0]
    if not folder:
        return tempfile.gettempdir()
    Path(folder).mkdir(parents=True, exist_ok=True)
    return folder


def _split(con: duckdb.DuckDBPyConnection, name: str, buckets: int, folder: Path,
           writer: concurrent.futures.ThreadPoolExecutor) -> None:
    """Write the rows of stage_<name>.sql into one Arrow file per bucket of `user_hash`
    (`<bucket>.arrow`, without the hash), streaming: this thread takes DuckDB's batches while
    `writer` (one thread: the files are written in order) sorts the previous ones into their
    buckets and writes them, two batches in flight."""
    folder.mkdir(parents=True, exist_ok=True)
    reader = con.sql(statement(f"experiments/stage_{name}")).to_arrow_reader(BATCH_ROWS)
    schema = reader.schema.remove(0)
    files = [pa.ipc.new_file(str(folder / f"{bucket}.arrow"), schema) for bucket in range(buckets)]

    def write(batch: pa.RecordBatch) -> None:
        keys = (batch.column(0).to_numpy() % buckets).astype(np.uint16)  # BUCKETS_MAX: a radix sort
        ends = np.cumsum(np.bincount(keys, minlength=buckets))
        batch = batch.take(pa.array(np.argsort(keys, kind="stable"))).drop_columns(batch.schema.names[0])
        for bucket in np.flatnonzero(np.diff(ends, prepend=0)):
            start = ends[bucket - 1] if bucket else 0
            files[bucket].write_batch(batch.slice(start, ends[bucket] - start))

    in_flight: list[concurrent.futures.Future] = []
    try:
        for batch in reader:
            in_flight.append(writer.submit(write, batch))
            if len(in_flight) > 1:
                in_flight.pop(0).result()
        for future in in_flight:
            future.result()
    finally:
        concurrent.futures.wait(in_flight)
        for file in files:
            file.close()


def _bucket_rows(con: duckdb.DuckDBPyConnection, name: str, stage: Path, bucket: int, buckets: int) -> pa.Table:
    """One bucket's staged rows (memory-mapped from its Arrow file), or, with one bucket, every
    row stage_<name>.sql selects, read from the source."""
    if buckets > 1:
        return pa.ipc.open_file(pa.memory_map(str(stage / name / f"{bucket}.arrow"))).read_all()
    table = con.sql(statement(f"experiments/stage_{name}")).to_arrow_table()
    return table.drop_columns(table.schema.names[0])


MomentsByGroup = dict[tuple[str, str], dict[tuple[str | None, str | None], dict[str, Moments]]]


def load_moments(con: duckdb.DuckDBPyConnection) -> MomentsByGroup:
    """(experiment, metric) -> (dimension, segment) -> {variant: Moments}, from DuckDB's
    aggregation; (None, None) is the whole experiment, segments follow in SQL order."""
    out: MomentsByGroup = defaultdict(lambda: defaultdict(dict))
    cursor = con.execute(statement("experiments/moments"))
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        r = dict(zip(names, row))
        out[(r["experiment_id"], r["metric"])][(r["dimension"], r["segment"])][r["variant"]] = Moments.from_record(r)
    return out


def _row(spec: ExperimentSpec, metric: MetricSpec, treatment: str, analysis: str, comp, *, dim=None, seg=None,
         srm_invalid: bool, now: dt.datetime, **extra) -> dict:
    row = {"experiment_id": spec.experiment_id, "metric": metric.name, "role": spec.role(metric.name),
           "variant": treatment, "control": spec.control, "analysis": analysis, "segment_dimension": dim,
           "segment_value": seg, "method": comp.method, "higher_is_better": metric.higher_is_better,
           "n_control": comp.n_control, "n_treatment": comp.n_treatment, "mean_control": comp.mean_control,
           "mean_treatment": comp.mean_treatment, "diff": comp.diff, "diff_ci_low": comp.diff_low,
           "diff_ci_high": comp.diff_high, "rel_diff": comp.rel, "rel_ci_low": comp.rel_low,
           "rel_ci_high": comp.rel_high, "p_value": comp.p_value, "p_value_holm": None, "significant": None,
           "chance_to_win": comp.chance_to_win, "expected_loss": comp.expected_loss, "variance_reduction": None,
           "ni_margin": None, "ni_p_value": None, "ni_passed": None, "heterogeneity_p": None,
           "achieved_mde_rel": None, "required_n_per_arm": None, "srm_invalid": srm_invalid,
           "reason": comp.reason, "analyzed_at": now, "excluded_values": 0}
    row.update(extra)
    return row


def analyze_experiment(spec: ExperimentSpec, metrics: dict[str, MetricSpec], moments: MomentsByGroup,
                       counts: dict[str, int], now: dt.datetime) -> tuple[list[dict], dict]:
    """Every result row of one experiment and its summary row."""
    srm_p = srm_p_value(counts, spec.variants) if sum(counts.values()) else None
    invalid = srm_p is not None and srm_p < SRM_THRESHOLD
    n_star = spec.n_star if spec.sequential else None
    rows: list[dict] = []
    verdicts: dict[str, dict] = {t: {"wins": [], "losses": [], "ni_fail": [], "harm": [], "ctw": None} for t in spec.treatments}
    for treatment in spec.treatments:
        primary_rows = []
        for name in spec.metrics:
            metric = metrics[name]
            groups = moments.get((spec.experiment_id, name), {})
            arms = groups.get((None, None), {})
            c_m, t_m = arms.get(spec.control, Moments(0, 0, 0)), arms.get(treatment, Moments(0, 0, 0))
            c_est, t_est = arm_estimate(c_m, metric.is_ratio), arm_estimate(t_m, metric.is_ratio)
            method = "delta-method ratio" if metric.is_ratio else "welch"
            main = compare(c_est, t_est, alpha=spec.alpha, higher_is_better=metric.higher_is_better,
                           welch=not metric.is_ratio, sequential_n_star=n_star,
                           method=f"{method}, sequential (N*={spec.n_star:g})" if n_star else method)
            extra = {}
            if spec.power is not None and main.reason is None:
                pw = power_analysis(c_est, t_est, alpha=spec.alpha, power=spec.power, target_rel=(spec.mde or {}).get(name))
                extra.update(achieved_mde_rel=pw.achieved_mde_rel, required_n_per_arm=pw.required_n_per_arm)
            guard = next((g for g in spec.guardrails if g.metric == name), None)
            if guard is not None:
                ni = non_inferiority(main, guard.margin, higher_is_better=metric.higher_is_better, alpha=spec.alpha,
                                     sequential_n_star=n_star)
                extra.update(ni_margin=guard.margin, ni_p_value=ni.p_value, ni_passed=ni.passed)
                if ni.passed is not True:
                    verdicts[treatment]["ni_fail"].append(name)
                if ni.harmful:
                    verdicts[treatment]["harm"].append(name)
            seg_rows = _segments(spec, metric, treatment, groups, n_star, invalid, now)
            extra["heterogeneity_p"] = segment_heterogeneity(seg_rows)
            extra["excluded_values"] = c_m.excluded + t_m.excluded
            row = _row(spec, metric, treatment, "sequential" if n_star else "overall", main, srm_invalid=invalid,
                       now=now, **extra)
            rows.append(row)
            if spec.role(name) == "primary":
                primary_rows.append(row)
                if verdicts[treatment]["ctw"] is None:
                    verdicts[treatment]["ctw"] = main.chance_to_win
            if main.reason is None:
                cup = cuped_theta([c_m, t_m], metric.is_ratio)
                if cup is not None:
                    adj = compare(cuped_estimate(c_m, cup, metric.is_ratio), cuped_estimate(t_m, cup, metric.is_ratio),
                                  alpha=spec.alpha, higher_is_better=metric.higher_is_better, welch=False,
                                  sequential_n_star=n_star,
                                  method=f"cuped{' (linearized ratio)' if metric.is_ratio else ''} (theta={cup.theta:.4g}"
                                         + (f"; {c_m.imputed + t_m.imputed} non-finite pre-period value(s) imputed "
                                            "by the mean" if c_m.imputed + t_m.imputed else "") + ")")
                    rows.append(_row(spec, metric, treatment, "cuped", adj, srm_invalid=invalid, now=now,
                                     variance_reduction=cup.variance_reduction,
                                     excluded_values=extra["excluded_values"]))
            rows.extend(seg_rows)
        # Holm across this treatment's pre-registered primary metrics; one that could not be tested
        # (an empty arm, zero variance) stays in the family with p = 1: dropping it would shrink the
        # correction and let the others through more easily
        adjusted_all = holm([r["p_value"] for r in primary_rows])
        for r, adjusted in zip(primary_rows, adjusted_all):
            if r["p_value"] is None:
                continue
            r["p_value_holm"] = adjusted
            r["significant"] = adjusted < spec.alpha
            better = (r["diff"] > 0) == r["higher_is_better"]
            if r["significant"]:
                verdicts[treatment]["wins" if better else "losses"].append(r["metric"])
    for r in rows:
        if r["significant"] is None and r["p_value"] is not None:
            r["significant"] = r["p_value"] < spec.alpha
    return rows, _summary(spec, counts, srm_p, invalid, verdicts, now)


def _segments(spec, metric, treatment, groups, n_star, invalid, now) -> list[dict]:
    out = []
    for (dim, seg), arms in groups.items():
        if dim is None:
            continue
        c_m, t_m = arms.get(spec.control, Moments(0, 0, 0)), arms.get(treatment, Moments(0, 0, 0))
        c, t = arm_estimate(c_m, metric.is_ratio), arm_estimate(t_m, metric.is_ratio)
        comp = compare(c, t, alpha=spec.alpha, higher_is_better=metric.higher_is_better, welch=not metric.is_ratio,
                       sequential_n_star=n_star, method="segment")
        out.append(_row(spec, metric, treatment, "segment", comp, dim=dim, seg=seg, srm_invalid=invalid, now=now,
                        excluded_values=c_m.excluded + t_m.excluded, _se=comp.se))
    return out


def segment_heterogeneity(seg_rows: list[dict]) -> float | None:
    """One Cochran's Q per segment dimension, written on that dimension's rows as heterogeneity_p;
    returns the smallest Holm-adjusted p across the dimensions (for the overall row). The
    dimensions partition the same users, so one Q over all of them at once double-counts them:
    it is conservative under the null and loses power against an effect in one dimension."""
    by_dimension: dict[str, list[dict]] = defaultdict(list)
    for r in seg_rows:
        by_dimension[r["segment_dimension"]].append(r)
    p_values = []
    for rows in by_dimension.values():
        het = heterogeneity([r["diff"] for r in rows], [r.pop("_se") for r in rows])
        for r in rows:
            r["heterogeneity_p"] = het.p_value if het else None
        if het:
            p_values.append(het.p_value)
    return min(holm(p_values)) if p_values else None


def _summary(spec, counts, srm_p, invalid, verdicts, now) -> dict:
    users = sum(counts.values())
    ship = [t for t, v in verdicts.items() if v["wins"] and not v["losses"] and not v["ni_fail"]]
    blocked = [t for t, v in verdicts.items() if v["losses"] or v["harm"]]
    if users == 0:
        decision, reason, variant = "invalid", "no analysable users", None
    elif invalid:
        decision, variant = "invalid", None
        reason = f"sample ratio mismatch: p = {srm_p:.2g} < {SRM_THRESHOLD} against the pre-registered allocation"
    elif ship:
        variant = max(ship, key=lambda t: verdicts[t]["ctw"] or 0)
        decision = "ship"
        reason = f"{variant}: better on {', '.join(verdicts[variant]['wins'])}; every guardrail non-inferior"
    elif len(blocked) == len(verdicts):
        decision, variant = "do not ship", None
        reason = "; ".join(f"{t}: " + ", ".join([*(f"{m} significantly worse" for m in v["losses"]),
                                                 *(f"{m} beyond its guardrail margin" for m in v["harm"])])
                           for t, v in verdicts.items())
    else:
        decision, variant = "inconclusive", None
        reason = "; ".join(f"{t}: " + (f"better on {', '.join(v['wins'])} but guardrail not shown non-inferior: "
                                       f"{', '.join(v['ni_fail'])}" if v["wins"] else "no primary metric significantly better")
                           for t, v in verdicts.items())
    return {"experiment_id": spec.experiment_id, "start_date": spec.start, "end_date": spec.end, "users": users,
            "users_per_variant": json.dumps(counts, sort_keys=True), "srm_p_value": srm_p, "srm_invalid": invalid,
            "excluded_users": 0, "decision": decision, "ship_variant": variant, "reason": reason, "analyzed_at": now}


def analyze(con: duckdb.DuckDBPyConnection, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec]
            ) -> tuple[list[dict], list[dict]]:
    """experiment_results and experiment_summary rows for every experiment (from moments only)."""
    now = dt.datetime.now(dt.timezone.utc)
    moments = load_moments(con)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for eid, variant, n in con.execute(statement("experiments/variant_counts")).fetchall():
        counts[eid][variant] = int(n)
    excluded = dict(con.execute(statement("experiments/excluded_users")).fetchall())
    results, summaries = [], []
    for spec in specs:
        rows, summary = analyze_experiment(spec, metrics, moments, {v: counts[spec.experiment_id].get(v, 0)
                                                                     for v in spec.variants}, now)
        summary["excluded_users"] = int(excluded.get(spec.experiment_id, 0))
        results += rows
        summaries.append(summary)
    return results, summaries


def write_results(con: duckdb.DuckDBPyConnection, results: list[dict], summaries: list[dict]) -> None:
    """Replace experiment_results and experiment_summary (one transaction, retried on a lake's
    commit conflict)."""
    def write() -> None:
        for table, rows in (("experiment_results", results), ("experiment_summary", summaries)):
            con.execute(f"delete from {table}")  # noqa: S608  (constant table names)
            if rows:
                columns = [c for c, *_ in con.execute(f"describe {table}").fetchall()]
                con.register("result_batch", pl.DataFrame(rows, infer_schema_length=None).select(columns).to_arrow())
                con.execute(f"insert into {table} select * from result_batch")  # noqa: S608
                con.unregister("result_batch")

    retrying(con, write, "experiment_results")

