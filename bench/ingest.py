"""Benchmark: ingest 1M generated interactions; compare with a bare DuckDB read_json scan.

Prints records/s and peak RSS for evalfunnel's ingestion (parse, validate, dedupe, partition,
write raw_logs/log_rejects) and for a bare `read_json` load of the same files into a DuckDB
table, both measured in this run, each in its own process so peak RSS is its own.
Targets (issue 2): ingestion within 2x of the bare scan's time, peak RSS under 2 GB.

    python bench/ingest.py [--interactions N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
CHILD = r"""
import json, resource, sys, time
from datetime import date
mode, source, warehouse = sys.argv[1:4]
t0 = time.perf_counter()
if mode == "bare":
    import duckdb
    from pathlib import Path
    files = sorted(str(p) for p in Path(source, "logs").rglob("*.jsonl*"))
    con = duckdb.connect(warehouse)
    con.execute("set TimeZone = 'UTC'")
    con.execute("create table t as select * from read_json($files, format = 'newline_delimited', ignore_errors = true)", {"files": files})
    records = con.execute("select count(*) from t").fetchone()[0]
    con.close()
else:
    from pipeline.logs.ingest import ingest_window
    from pipeline.warehouse import connect
    truth = json.load(open(f"{source}/gold/truth.json"))
    first, last = date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])
    with connect(warehouse) as con:
        result = ingest_window(con, source, first, date.fromordinal(last.toordinal() + 1))
    records = result.totals["read"]
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"records": records, "seconds": seconds, "peak_rss_mb": peak_mb}))
"""


def measure(mode: str, source: Path, workdir: Path) -> dict:
    warehouse = workdir / f"{mode}.duckdb"
    warehouse.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(source), str(warehouse)],
                         capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side; the best is reported")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from pipeline.demo.generator import DemoConfig, generate

    source = HERE / "out" / f"source-{args.interactions}"
    if not (source / "gold" / "truth.json").exists():
        print(f"generating {args.interactions:,} interactions into {source} ...", flush=True)
        t0 = time.perf_counter()
        generate(DemoConfig(out=source, interactions=args.interactions, bad_inputs=False, log_format="jsonl.gz"))
        print(f"  generated in {time.perf_counter() - t0:.0f}s", flush=True)
    size_mb = sum(p.stat().st_size for p in (source / "logs").rglob("*")) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for mode in ("bare", "evalfunnel"):
            runs = [measure(mode, source, Path(tmp)) for _ in range(args.repeats)]
            results[mode] = min(runs, key=lambda r: r["seconds"])
    bare, ours = results["bare"], results["evalfunnel"]
    print(f"input: {bare['records']:,} records in {size_mb:,.0f} MB of JSONL.gz")
    for name, r in (("bare read_json scan", bare), ("evalfunnel ingest", ours)):
        print(f"{name:<22} {r['seconds']:7.2f} s  {r['records'] / r['seconds']:>10,.0f} records/s  peak RSS {r['peak_rss_mb']:,.0f} MB")
    ratio = ours["seconds"] / bare["seconds"]
    print(f"time ratio evalfunnel / bare scan: {ratio:.2f}x (target <= 2.0x)  "
          f"peak RSS {ours['peak_rss_mb']:,.0f} MB (target < 2048 MB)")
    print("records reconcile with the bare scan:", ours["records"] == bare["records"])


if __name__ == "__main__":
    main()
