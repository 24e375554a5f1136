"""experiment_samples: per variant, stratified, deterministic; judged with their variant."""

from __future__ import annotations

from collections import Counter
from datetime import date

import dagster as dg

from assets import privacy as anonymize, judge as judging, logs
from pipeline.evalsets.sampling import allocate
from pipeline.jobs import RANGE_END_TAG, RANGE_START_TAG
from pipeline.judge.samples import sample_month
from pipeline.resources import JudgeResource, PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect


def test_samples_per_variant_follow_each_arms_mix_and_are_judged(demo_source, tmp_path):
    resources = {"warehouse": WarehouseResource(home=str(tmp_path)), "source": SourceResource(source_dir=str(demo_source)),
                 "pii": PiiResource(salt="k"), "judge": JudgeResource()}
    assets = [logs.ingested_logs, anonymize.clean_logs, judging.experiment_samples]
    assert dg.materialize(assets[:2], resources=resources, tags={RANGE_START_TAG: "2026-09-01", RANGE_END_TAG: "2026-09-30"}).success
    assert dg.materialize(assets, resources=resources, partition_key="2026-09-01",
                          selection=dg.AssetSelection.assets("experiment_samples")).success
    with connect(tmp_path / "warehouse.duckdb") as con:
        arms = con.execute("select experiment_id, variant, stratum, count(*) from experiment_samples group by all").fetchall()
        traffic = con.execute("select experiment_id, variant, metadata ->> '$.topic', count(*) from clean_logs "
                              "where experiment_id is not null and log_date < '2026-10-01' group by all").fetchall()
        first = con.execute("select item_id from experiment_samples order by item_id").fetchall()
        sample_month(con, date(2026, 9, 1), date(2026, 10, 1))  # again: the same sample
        again = con.execute("select item_id from experiment_samples order by item_id").fetchall()
    assert first == again
    per_arm = Counter()
    for experiment, variant, _, n in arms:
        per_arm[(experiment, variant)] += n
    mix = {}
    for experiment, variant, topic, n in traffic:
        mix.setdefault((experiment, variant), {})[topic] = n
    # 100 per arm, or all of an arm's traffic when it has less
    assert per_arm == {arm: min(100, sum(m.values())) for arm, m in mix.items()}
    assert max(per_arm.values()) == 100 and min(per_arm.values()) < 100  # both cases occur here
    for experiment, variant, stratum, n in arms:
        arm_mix = mix[(experiment, variant)]
        assert n == allocate(min(100, sum(arm_mix.values())), {k: float(v) for k, v in arm_mix.items()})[stratum]
    assert dg.materialize([*assets, judging.judge_scores], resources=resources,
                          selection=dg.AssetSelection.assets("judge_scores")).success
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        judged = con.execute("select count(distinct item_id), count(distinct variant), count(*) filter (where variant is null) "
                             "from judge_scores where source = 'experiment_sample'").fetchone()
    assert judged[0] == sum(per_arm.values()) and judged[1] >= 2 and judged[2] == 0
