"""Issue 12, finding 10: names from data (variants, experiments, candidates, topics) never crash
experiment_analysis or the report, and every chart shows them as written.

`on$\\foo$` was read by matplotlib as math text (Unknown symbol: \\foo), after experiment_analysis
had committed its tables; `$x^2$` was silently drawn as x².
"""

from __future__ import annotations

import csv
import io
import json
import re

import dagster as dg
import pytest
import yaml
from matplotlib.backends.backend_svg import _escape_comment

from assets import experiments
from pipeline.report.html import build_report, experiments_section, ratings_section, section_charts
from pipeline.resources import PiiResource, SourceResource, WarehouseResource
from pipeline.warehouse import connect

ODD = ["on$\\foo$", "$x^2$", "it's \"quoted\"", "<script>alert(1)</script>", "--><script>alert(2)</script><!--",
       "ünï©ødé Ωμέγα", "日本語", "%s %d {0} {}", "back\\slash\\n", "a&amp;b", "$", "\\"]
CONTROL = "ctl'$\\"
METRICS = {"metrics": {
    "purchases": {"kind": "count", "event": "purchase", "window_days": 7, "higher_is_better": True},
    "tickets_per_chat": {"kind": "ratio", "numerator": "ticket", "denominator": "chat", "window_days": 7,
                         "higher_is_better": False}}}
EXPERIMENT = "exp $\\x$ 'q' <i>"


def write_source(root):
    names = [CONTROL, *ODD]
    spec = {"experiment_id": EXPERIMENT, "start": "2026-03-01", "end": "2026-03-31", "control": CONTROL,
            "variants": dict.fromkeys(names, 1 / len(names)), "primary_metrics": ["purchases"],
            "guardrail_metrics": [{"metric": "tickets_per_chat", "non_inferiority_margin": 0.5}]}
    for sub in ("experiments", "logs", "assignments", "events"):
        (root / sub).mkdir(parents=True)
    (root / "experiments" / "odd.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    (root / "metrics.yaml").write_text(yaml.safe_dump(METRICS))
    assignments, events = io.StringIO(), io.StringIO()
    a, e = csv.writer(assignments), csv.writer(events)
    a.writerow(["experiment_id", "user_id", "variant", "assigned_at"])
    e.writerow(["user_id", "timestamp", "event", "value"])
    for i in range(60 * len(names)):
        a.writerow([EXPERIMENT, f"u{i}", names[i % len(names)], f"2026-03-0{1 + i % 9}T10:00:00Z"])
        for k in range(i % 4):
            e.writerow([f"u{i}", f"2026-03-10T1{k}:00:00Z", "purchase", ""])
        e.writerow([f"u{i}", "2026-03-10T10:00:00Z", "chat", ""])
        if i % 5 == 0:
            e.writerow([f"u{i}", "2026-03-10T10:05:00Z", "ticket", ""])
    (root / "assignments" / "a.csv").write_text(assignments.getvalue(), encoding="utf-8")
    (root / "events" / "e.csv").write_text(events.getvalue(), encoding="utf-8")
    return root


def glyphs(svg: str, label: str) -> int:
    """How many glyphs the chart draws for `label` (matplotlib's SVG puts the label's text in a
    comment before the glyphs; a space is a glyph too). Math text would draw fewer: `$x^2$` is 2."""
    start = svg.index(f"<!-- {_escape_comment(label)} -->")
    return svg[start:svg.index("</g>", start)].count("<use")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("odd")
    source = write_source(tmp / "src")
    resources = {"warehouse": WarehouseResource(home=str(tmp)), "source": SourceResource(source_dir=str(source)),
                 "pii": PiiResource(salt="k")}
    result = dg.materialize([experiments.user_metrics, experiments.experiment_analysis], resources=resources,
                            raise_on_error=False)
    return tmp, result


def test_experiment_analysis_materializes_with_odd_variant_names(analysed):
    tmp, result = analysed
    assert result.success
    summary = result.asset_materializations_for_node("experiment_analysis")[-1].metadata
    assert summary["effects"].value.startswith("![chart](data:image/png;base64,")
    with connect(tmp / "warehouse.duckdb", read_only=True) as con:
        variants = {v for (v,) in con.execute("select distinct variant from experiment_results").fetchall()}
        [(experiment, users)] = con.execute("select experiment_id, users from experiment_summary").fetchall()
    assert variants == set(ODD) and experiment == EXPERIMENT and users == 60 * (len(ODD) + 1)


def test_the_report_shows_every_odd_name_literally(analysed):
    tmp, _ = analysed
    with connect(tmp / "warehouse.duckdb") as con:
        con.execute("delete from variant_ratings")
        con.execute("delete from pareto_frontier")
        con.execute("delete from eval_set_versions")
        names = ["baseline", *ODD]
        for k, name in enumerate(names):
            for controlled in (False, True):
                con.execute("insert into variant_ratings values ('jv', ?, 'baseline', ?, ?, ?, 0.5, 10, ?, 1.0, now())",
                            [name, 1000 + 10 * k, 990 + 10 * k, 1010 + 10 * k, controlled])
            con.execute("insert into pareto_frontier values ('jv', ?, ?, null, null, ?, ?, null, ?, now())",
                        [name, 1000 + 10 * k, 0.001 * (k + 1), 100.0 + k, k % 2 == 0])
            con.execute("insert into candidate_scores values ('jv', 'i1', ?, 'correctness', 3, 'ok', null, ?, now())",
                        [name, ODD[k % len(ODD)]])
            con.execute("insert into regression_results values (?, ?, 'h', ?, 'checks', ?, null, now())",
                        [name, ODD[k % len(ODD)], k % 2 == 0, f"missing {name!r}"])
        counts = {f"head:{t}": 3 for t in ODD}
        con.execute("insert into eval_set_versions values ('v1', '2026-03-31', now(), null, 36, ?, ?, '{}', '{}')",
                    [json.dumps(counts), json.dumps({t: 1 / len(ODD) for t in ODD})])
        page = build_report(con, "jv", baseline="baseline").html
        charts = section_charts(experiments_section, con) + section_charts(ratings_section, con, "jv")
    assert len(charts) == 3 and page.count("<svg") >= 4
    assert "<script" not in page and "<i>" not in page  # data stays text in tables and in chart comments
    for name in ODD:
        if name == "日本語":  # drawn, with the font's missing-glyph boxes (DejaVu has no CJK)
            assert glyphs(page, name) == len(name)
            continue
        label = f"{EXPERIMENT}/{name} purchases (primary)"
        assert glyphs(page, label) == len(label), label  # the effects chart
        assert glyphs(page, name) == len(name), name  # ratings, Pareto and eval-set charts
    assert re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", page)  # the tables, as text
