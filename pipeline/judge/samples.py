"""experiment_samples: what the judge scores of each running experiment, month by month.

For every experiment with traffic in the month (clean_logs rows carrying its experiment_id),
each variant gets `per_variant` requests (default 100), allocated over the variant's own strata
(metadata dimensions, default topic) in proportion to its traffic, and drawn by a seeded md5,
so the judge sees the A/B data itself and the samples follow each arm's mix.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from pipeline.evalsets.sampling import allocate
from pipeline.warehouse import retrying, statement


@dataclass(frozen=True)
class SampleResult:
    month: date
    per_arm: dict[tuple[str, str], int]  # (experiment, variant) -> items sampled
    traffic: dict[tuple[str, str], int]  # (experiment, variant) -> requests in the month


def sample_month(con: duckdb.DuckDBPyConnection, start: date, end: date, *, per_variant: int = 100,
                 strata: tuple[str, ...] = ("topic",), seed: int = 0) -> SampleResult:
    window = {"start": start, "end": end, "strata": list(strata)}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for experiment, variant, stratum, n in con.execute(statement("judge/experiment_strata"), window).fetchall():
        counts[(experiment, variant)][stratum] = n
    quotas = []
    for (experiment, variant), mix in counts.items():
        take = min(per_variant, sum(mix.values()))
        for stratum, k in allocate(take, {s: float(n) for s, n in mix.items()}).items():
            quotas.append({"experiment_id": experiment, "variant": variant, "stratum": stratum, "quota": min(k, mix[stratum])})
    def write() -> None:
        con.execute("delete from experiment_samples where month = $start", {"start": start})
        if quotas:
            con.register("sample_quotas", pl.DataFrame(quotas).to_arrow())
            try:
                con.execute(statement("judge/insert_experiment_samples"), {**window, "seed": str(seed)})
            finally:
                con.unregister("sample_quotas")

    retrying(con, write, f"experiment_samples {start:%Y-%m}")
    per_arm = dict(((e, v), n) for e, v, n in con.execute(
        "select experiment_id, variant, count(*) from experiment_samples where month = $start group by 1, 2 order by 1, 2",
        {"start": start}).fetchall())
    return SampleResult(start, per_arm, {k: sum(m.values()) for k, m in counts.items()})
