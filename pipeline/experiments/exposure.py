"""The users analysed in each experiment, from one bucket of assignment rows, and those left out.

Per (experiment, user) of a pre-registered experiment: the user is analysed when every row gave
it the same variant, a variant the pre-registration lists, and its first assignment (the
exposure) falls inside the experiment's dates; otherwise it is counted under
multiple_variants, unknown_variant or outside_window (checked in that order). Users of an
experiment without a pre-registration are counted under unknown_experiment. An analysed user
gets its pseudonym: HMAC-SHA256 of 'user:' || id, exactly as clean_logs computes it, once per
distinct user however many experiments it is in.

Array code rather than a SQL group-by because it runs on the worker thread beside the inserts
(pipeline/experiments/analysis.py), where DuckDB's threads are busy; about a tenth of the CPU
of the SQL it replaces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ISSUES = {  # issue -> detail, as written to assignment_issues
    "multiple_variants": "assigned to more than one variant: excluded",
    "unknown_variant": "assigned to a variant the pre-registration does not list: excluded",
    "outside_window": "first assigned outside the experiment dates: excluded",
    "unknown_experiment": "no pre-registration in experiments/",
}


@dataclass(frozen=True)
class Registrations:
    """The pre-registrations' ids, listed variants and dates as instants: start_us and end_us
    are epoch microseconds of the first day's start and of the day after the last (in the
    warehouse's time zone, as SQL casts a date)."""

    experiments: list[str]
    variants: list[set[str]]
    start_us: np.ndarray
    end_us: np.ndarray


def _pseudonyms(ids: list[str], pads: dict[str, bytes]) -> list[str]:
    inner, outer = hashlib.sha256(pads["ipad"]), hashlib.sha256(pads["opad"])
    out = []
    for value in ids:
        mac = inner.copy()
        mac.update(f"user:{value}".encode())
        final = outer.copy()
        final.update(mac.digest())
        out.append("user_" + final.hexdigest()[:20])
    return out


def analysed_users(assignments: pa.Table, reg: Registrations, pads: dict[str, bytes]
                   ) -> tuple[pa.Table, pa.Array, dict[tuple[str, str], int]]:
    """From valid assignment rows (experiment_id, user_id, variant, assigned_at): the analysed
    users, one row per (experiment, user) ordered by user (experiment_id, user_id: the
    pseudonym, variant, as dictionary arrays, exposure_at; for `windows.event_metric_rows`:
    experiment, its index in reg.experiments, user, its index in the returned ids, exposed and
    end_us as epoch microseconds), the users' ids as the source has them, and the users left out
    per (experiment, issue)."""
    issues: dict[tuple[str, str], int] = {}
    exp = pc.index_in(assignments["experiment_id"], value_set=pa.array(reg.experiments, pa.string()))
    if exp.null_count:
        unknown = assignments.filter(pc.is_null(exp))
        for row in unknown.group_by("experiment_id").aggregate([("user_id", "count_distinct")]).to_pylist():
            issues[(row["experiment_id"], "unknown_experiment")] = row["user_id_count_distinct"]
        assignments, exp = assignments.filter(pc.is_valid(exp)), pc.drop_null(exp)
    exp = exp.to_numpy().astype(np.int64)
    users = pc.unique(assignments["user_id"])
    user = pc.index_in(assignments["user_id"], value_set=users).to_numpy().astype(np.int64)
    # variants ranked in SQL's (binary) order, so that min and max are the strings' min and max
    names = pc.unique(assignments["variant"])
    names = names.take(pc.array_sort_indices(names))
    variant = pc.index_in(assignments["variant"], value_set=names).to_numpy().astype(np.int64)
    listed = np.array([[name in allowed for name in names.to_pylist()] for allowed in reg.variants],
                      dtype=bool).reshape(len(reg.experiments), len(names))
    at_type = pa.timestamp("us", tz=assignments.schema.field("assigned_at").type.tz)
    at = assignments["assigned_at"].cast(at_type).cast(pa.int64()).to_numpy()

    # one group per (experiment, user)
    order = np.argsort(user * len(reg.experiments) + exp)
    key = (user * len(reg.experiments) + exp)[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.array([], dtype=np.int64)
    g_exp, g_user = exp[order][starts], user[order][starts]
    v_min = np.minimum.reduceat(variant[order], starts) if len(starts) else variant[:0]
    v_max = np.maximum.reduceat(variant[order], starts) if len(starts) else variant[:0]
    exposed = np.minimum.reduceat(at[order], starts) if len(starts) else at[:0]
    unlisted = np.logical_or.reduceat(~listed[exp, variant][order], starts) if len(starts) else np.zeros(0, bool)

    multiple = v_min != v_max
    unknown_variant = ~multiple & unlisted
    outside = ~multiple & ~unlisted & ((exposed < reg.start_us[g_exp]) | (exposed >= reg.end_us[g_exp]))
    for name, mask in (("multiple_variants", multiple), ("unknown_variant", unknown_variant),
                       ("outside_window", outside)):
        for e, n in enumerate(np.bincount(g_exp[mask], minlength=len(reg.experiments))):
            if n:
                issues[(reg.experiments[e], name)] = int(n)

    kept = np.flatnonzero(~multiple & ~unlisted & ~outside)
    g_exp, g_user, exposed = g_exp[kept], g_user[kept], exposed[kept]
    distinct, index = np.unique(g_user, return_inverse=True)
    raw = users.take(pa.array(distinct))
    # the repeated strings as dictionaries: an index per row into the distinct values
    table = pa.table({
        "experiment_id": pa.DictionaryArray.from_arrays(pa.array(g_exp.astype(np.int32)),
                                                        pa.array(reg.experiments, pa.string())),
        "user_id": pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)),
                                                  pa.array(_pseudonyms(raw.to_pylist(), pads), pa.string())),
        "variant": pa.DictionaryArray.from_arrays(pa.array(v_min[kept].astype(np.int32)), names),
        "exposure_at": pa.array(exposed, pa.int64()).cast(at_type),
        "experiment": g_exp,
        "user": index.astype(np.int32),
        "exposed": exposed,
        "end_us": reg.end_us[g_exp]})
    return table, raw, issues
