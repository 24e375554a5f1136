"""Event metrics per (experiment, user, metric) from one bucket of users and their events.

The definition (the same as the SQL it replaces, tests/experiments/test_windows.py checks it
against that SQL on random data): for each analysed user of an experiment and each metric, the
metric's event (and a ratio's denominator event) is counted, or its values summed, after
exposure up to `window_days` later or the experiment's end, whichever comes first, and over the
same number of days before exposure (the CUPED covariate):

- post: exposed <= ts < min(exposed + window_days, end_date + 1 day); pre: exposed - window_days <= ts < exposed
- count: the post events (pre: the pre events), denominator 1; binary: 1 if there is one, else 0;
  sum: the sum of their values (a missing value counts 1), 0 without events; ratio: numerator
  and denominator events counted separately.

Why numpy and not a SQL join: every event meets each window of its user (5 experiments per user
make 250M candidate pairs for 50M events), and a hash join on the user spends ~0.3 us per pair
on this kind of machine. Here the events are sorted by user once; each window walks only its own
user's events, as flat array operations, and the per-window sums are `bincount`s into dense
arrays indexed by (window, event), so that the zero-filled output needs no join either. The
sums run in the events' order within a user: equal to the SQL's up to rounding (the SQL adds
in whatever order its threads deliver).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.experiments.registry import ExperimentSpec, MetricSpec

DAY_US = 86_400_000_000
KINDS = ("count", "binary", "sum", "ratio")  # kind codes in MetricPlan.kind
KEY_LIMIT = 1 << 62  # (user, time) pairs are sorted and searched as one int64 key below this


@dataclass(frozen=True)
class MetricPlan:
    """The event metrics of the pre-registrations as arrays the kernel indexes.

    experiments[e]; events[k] (every event some metric counts); window_days[e, w] (0: no such
    window); per experiment e its metrics are rows metric_start[e] .. metric_start[e + 1] of the
    metric_* arrays: name, kind code (KINDS), window slot w, numerator event k, denominator
    event k (-1 for none). The cells an experiment counts into are its (window, event) pairs
    that some metric reads: cell[e, w, k] numbers them 0 .. n_cells[e] - 1 (-1: not counted),
    metric_num_cell and metric_den_cell (-1 for none) are each metric's, so the per-user counts
    take as many cells as the experiment's metrics need, however many events other
    experiments count."""

    experiments: list[str]
    events: list[str]
    window_days: np.ndarray
    metric_start: np.ndarray
    metric_name: list[str]
    metric_kind: np.ndarray
    metric_window: np.ndarray
    metric_num: np.ndarray
    metric_den: np.ndarray
    cell: np.ndarray
    n_cells: np.ndarray
    metric_num_cell: np.ndarray
    metric_den_cell: np.ndarray

    @classmethod
    def build(cls, specs: list[ExperimentSpec], metrics: dict[str, MetricSpec]) -> MetricPlan:
        per_exp = [[metrics[m] for m in s.metrics if metrics[m].kind != "log"] for s in specs]
        events = sorted({e for ms in per_exp for m in ms for e in (m.event, m.denominator) if e})
        windows = [sorted({m.window_days for m in ms}) for ms in per_exp]
        window_days = np.zeros((len(specs), max((len(w) for w in windows), default=0) or 1), dtype=np.int64)
        for e, ws in enumerate(windows):
            window_days[e, :len(ws)] = ws
        flat = [(e, m) for e, ms in enumerate(per_exp) for m in ms]
        event_index = {name: k for k, name in enumerate(events)}
        metric_window = [windows[e].index(m.window_days) for e, m in flat]
        metric_num = [event_index[m.event] for _, m in flat]
        metric_den = [event_index[m.denominator] if m.denominator else -1 for _, m in flat]
        cell = np.full((len(specs), window_days.shape[1], max(len(events), 1)), -1, dtype=np.int32)
        n_cells = np.zeros(len(specs), dtype=np.int64)
        num_cell, den_cell = [], []
        for (e, _), w, num, den in zip(flat, metric_window, metric_num, metric_den):
            for k, out in ((num, num_cell), (den, den_cell)):
                if k < 0:
                    out.append(-1)
                    continue
                if cell[e, w, k] < 0:
                    cell[e, w, k] = n_cells[e]
                    n_cells[e] += 1
                out.append(int(cell[e, w, k]))
        return cls(
            experiments=[s.experiment_id for s in specs], events=events, window_days=window_days,
            metric_start=np.cumsum([0] + [len(ms) for ms in per_exp]),
            metric_name=[m.name for _, m in flat],
            metric_kind=np.array([KINDS.index(m.kind) for _, m in flat], dtype=np.int8),
            metric_window=np.array(metric_window, dtype=np.int64),
            metric_num=np.array(metric_num, dtype=np.int64),
            metric_den=np.array(metric_den, dtype=np.int64),
            cell=cell, n_cells=n_cells,
            metric_num_cell=np.array(num_cell, dtype=np.int64), metric_den_cell=np.array(den_cell, dtype=np.int64))


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + c) for each start s and count c."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts - starts, counts)
    return np.arange(total, dtype=np.int64) - offsets


def event_metric_rows(users: pa.Table, user_ids: pa.Array, events: pa.Table, plan: MetricPlan) -> pa.Table:
    """user_metrics rows of the event metrics for `users`, one row per (experiment, user):
    experiment (its index in plan.experiments), user (its index in `user_ids`, the users' ids
    as the events have them), exposed and end_us (epoch microseconds of the exposure and of the
    day after the experiment's end), and the columns the rows repeat: experiment_id, user_id
    (the pseudonym), variant, exposure_at. From their `events` (user_id, ts in epoch
    microseconds, kind: the event's index in plan.events, value with a missing value already 1);
    events of other users are ignored. One row per user and metric of its experiment, zeros
    included, in the users' order."""
    n_rows, n_windows = users.num_rows, plan.window_days.shape[1]
    exp = users["experiment"].to_numpy().astype(np.int64)
    user_of_row = users["user"].to_numpy()
    exposed_us = users["exposed"].to_numpy()

    # the events of these users (the semi-join) in the time any of their windows can reach (so
    # that times after t0 fit int64 whatever dates a source holds), sorted by user and time
    ev_user = pc.index_in(events["user_id"], value_set=user_ids)
    ts, value, kind = (events[c] for c in ("ts", "value", "kind"))
    keep = pc.is_valid(ev_user)
    if n_rows:
        reach = int(plan.window_days[exp].max()) * DAY_US
        first, last = int(exposed_us.min()) - reach, max(int(users["end_us"].to_numpy().max()), int(exposed_us.max()))
        keep = pc.and_(keep, pc.and_(pc.greater_equal(ts, first), pc.less(ts, last)))
    else:
        keep = pc.and_(keep, False)
    keep = pc.fill_null(keep, False)
    ev_user, ts, value, kind = (pc.filter(c, keep) for c in (ev_user, ts, value, kind))
    ev_user, ts = ev_user.to_numpy(), ts.to_numpy()
    t0 = int(ts.min()) if len(ts) else 0
    span = (int(ts.max()) - t0 + 1) if len(ts) else 1  # event times are 0 .. span - 1 after t0
    order, find = _by_user_and_time(ev_user, ts - t0, span, len(user_ids))
    order_arrow = pa.array(order)
    value, kind = (c.take(order_arrow).combine_chunks().to_numpy() for c in (value, kind))
    del order, order_arrow, ev_user, ts

    # windows: slot w of row r is window r * n_windows + w (a slot an experiment lacks is empty),
    # its bounds as times after t0
    w_exposed = np.repeat(exposed_us, n_windows) - t0
    days = plan.window_days[exp].ravel() * DAY_US
    lo = w_exposed - days
    hi = np.where(days > 0, np.minimum(w_exposed + days, np.repeat(users["end_us"].to_numpy(), n_windows) - t0), lo)
    w_user = np.repeat(user_of_row, n_windows)
    # each bound's position among its user's events: the events of a window are the positions
    # lo .. hi, the ones before exposure lo .. exposed
    p_lo, p_exposed, p_hi = (find(w_user, b) for b in (lo, w_exposed, hi))
    p_hi = np.maximum(p_hi, p_lo)
    p_exposed = np.clip(p_exposed, p_lo, p_hi)
    del lo, hi, w_exposed, days

    # counts and sums per (row, cell of its experiment, before or after exposure), dense:
    # slot = (row_start[row] + cell) * 2 + after, where row r has plan.n_cells[its experiment]
    # cells; an event in a window whose experiment does not count it has no cell
    row_start = np.cumsum(plan.n_cells[exp]) - plan.n_cells[exp]
    n_kinds = plan.cell.shape[2]
    # per window: where its experiment's cells start in plan.cell (flat) and in the slots
    w_cells = (np.repeat(exp, n_windows) * n_windows + np.tile(np.arange(n_windows), n_rows)) * n_kinds
    w_start = np.repeat(row_start, n_windows)
    counts = p_hi - p_lo
    event = _ranges(p_lo, counts)
    window = np.repeat(np.arange(len(w_user), dtype=np.int32 if len(w_user) < 1 << 31 else np.int64), counts)
    cell = plan.cell.ravel()[w_cells[window] + kind[event]]
    counted = np.flatnonzero(cell >= 0)
    event, window, cell = event[counted], window[counted], cell[counted]
    del counted
    slot = (w_start[window] + cell) * 2 + (event >= p_exposed[window])
    slots = int(plan.n_cells[exp].sum()) * 2
    n = np.bincount(slot, minlength=slots).astype(np.float64)
    v = np.bincount(slot, weights=value[event], minlength=slots)
    del event, window, cell, slot, counts, p_lo, p_exposed, p_hi, w_cells, w_start

    # one row per (user row, metric of its experiment)
    n_metrics = plan.metric_start[exp + 1] - plan.metric_start[exp]
    row = np.repeat(np.arange(n_rows, dtype=np.int32), n_metrics)
    metric = _ranges(plan.metric_start[exp], n_metrics)
    num = (row_start[row] + plan.metric_num_cell[metric]) * 2
    metric_kind = plan.metric_kind[metric]
    is_ratio = metric_kind == KINDS.index("ratio")
    den = np.where(is_ratio, row_start[row] + plan.metric_den_cell[metric], 0) * 2
    binary, summed = metric_kind == KINDS.index("binary"), metric_kind == KINDS.index("sum")
    value, pre_value = (np.where(binary, (n[num + after] > 0).astype(np.float64),
                                 np.where(summed, v[num + after], n[num + after])) for after in (1, 0))
    denominator = np.where(is_ratio, n[den + 1], 1.0)
    pre_denominator = np.where(is_ratio, n[den], 1.0)
    del n, v, num, den, binary, summed, is_ratio, metric_kind
    take = pa.array(row)
    return pa.table({
        "experiment_id": _repeated(users["experiment_id"], take),
        "user_id": _repeated(users["user_id"], take),
        "variant": _repeated(users["variant"], take),
        "exposure_at": pc.take(users["exposure_at"], take),
        "metric": pa.DictionaryArray.from_arrays(pa.array(metric.astype(np.int32)),
                                                 pa.array(plan.metric_name, pa.string())),
        "value": value, "denominator": denominator, "pre_value": pre_value, "pre_denominator": pre_denominator})


def _repeated(column: pa.ChunkedArray, take: pa.Array) -> pa.DictionaryArray:
    """The column's values at rows `take`, as a dictionary array (no string copied)."""
    column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        return pa.DictionaryArray.from_arrays(column.indices.take(take), column.dictionary)
    return pa.DictionaryArray.from_arrays(take, column)


def _by_user_and_time(user: np.ndarray, t: np.ndarray, span: int, users: int):
    """The order of the events by user, then time (0 <= t < span; events of one user at the same
    instant in any order: an unstable sort is three times faster), and find(at_user, at): for
    each pair, the position in that order of the first event of user at_user at or after time
    at (users: how many users there are). User and time are one int64 key, user * span + t,
    searched in order of the users (six times faster than in random order); with more users
    than such a key holds, in groups of users."""
    if users * span < KEY_LIMIT:
        key = user.astype(np.int64) * span + t
        order = np.argsort(key)
        key = key[order]

        def find(at_user: np.ndarray, at: np.ndarray) -> np.ndarray:
            return np.searchsorted(key, at_user.astype(np.int64) * span + np.clip(at, 0, span))
        return order, find

    order = np.lexsort((t, user))
    user, t = user[order], t[order]
    group = max(1, KEY_LIMIT // (span + 1))

    def find(at_user: np.ndarray, at: np.ndarray) -> np.ndarray:
        out = np.empty(len(at_user), dtype=np.int64)
        for u0 in range(0, users, group):
            a, b = np.searchsorted(user, [u0, u0 + group])
            mine = np.flatnonzero((at_user >= u0) & (at_user < u0 + group))
            keys = (user[a:b].astype(np.int64) - u0) * (span + 1) + t[a:b]
            out[mine] = a + np.searchsorted(keys, (at_user[mine].astype(np.int64) - u0) * (span + 1)
                                            + np.clip(at[mine], 0, span))
        return out
    return order, find
