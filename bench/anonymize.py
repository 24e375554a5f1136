"""Benchmark: anonymize the texts of 1M generated interactions.

Prints rows/s, MB/s and peak RSS for the anonymizer (pipeline.privacy.anonymize, 100k-row batches as
clean_logs streams them), the ratio of its throughput to a Polars read-only pass over the same
texts measured in the same run (the floor), per-type recall and precision on the
generator's gold spans, and per-type recall and precision on the hand-written multi-country
corpus in tests/pii_corpus.py (not produced by the generator). Each side runs in its own process, so peak RSS is its own.
Targets (issues 3 and 12): at least 0.15 of the floor's throughput; recall >= 0.99 and
precision >= 0.98 on every structured type; on the corpus also recall >= 0.9 on person names.

    python bench/anonymize.py [--interactions N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
CHILD = r"""
import json, resource, sys, time
import polars as pl
mode, path = sys.argv[1:3]
t0 = time.perf_counter()
if mode == "floor":
    # read every text and touch every byte: what any pass over this data must pay
    frame = pl.read_parquet(path, columns=["t"])
    out = {"rows": frame.height, "bytes": int(frame.select(pl.col("t").str.len_bytes().sum()).item()),
           "lowercase_bytes": int(frame.select(pl.col("t").str.to_lowercase().str.len_bytes().sum()).item())}
else:
    from pipeline.privacy.anonymize import Anonymizer
    frame = pl.read_parquet(path, columns=["t"])
    anonymizer, replaced, rows = Anonymizer(b"bench"), 0, 0
    for start in range(0, frame.height, 100_000):
        scrubbed, counts = anonymizer.scrub(frame.slice(start, 100_000), ["t"])
        replaced += sum(counts.values())
        rows += scrubbed.height
    out = {"rows": rows, "bytes": int(frame.select(pl.col("t").str.len_bytes().sum()).item()), "replaced": replaced}
out["seconds"] = time.perf_counter() - t0
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def texts_file(interactions: int) -> Path:
    """The interactions' texts (every turn and the response), extracted once with the ingestion."""
    out = HERE / "out" / f"texts-{interactions}.parquet"
    if out.exists():
        return out
    sys.path.insert(0, str(HERE.parent))
    from datetime import date

    from pipeline.demo.generator import DemoConfig, generate
    from pipeline.logs.ingest import ingest_window
    from pipeline.warehouse import connect

    source = HERE / "out" / f"source-{interactions}"
    if not (source / "gold" / "truth.json").exists():
        print(f"generating {interactions:,} interactions ...", flush=True)
        generate(DemoConfig(out=source, interactions=interactions, bad_inputs=False, log_format="jsonl.gz"))
    truth = json.loads((source / "gold" / "truth.json").read_text())
    warehouse = HERE / "out" / "anonymize-bench.duckdb"
    warehouse.unlink(missing_ok=True)
    print("extracting texts ...", flush=True)
    with connect(warehouse) as con:
        ingest_window(con, source, date.fromisoformat(truth["start"]), date.fromordinal(date.fromisoformat(truth["end"]).toordinal() + 1))
        con.execute("copy (select request_id, list_aggregate(list_transform(messages, lambda m: m.content), 'string_agg', "
                    "chr(10)) || chr(10) || response as t from raw_logs order by request_id) to $path (format parquet)",
                    {"path": str(out)})
    warehouse.unlink()
    return out


def measure(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True,
                         cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def gold_scores(interactions: int, path: Path) -> dict[str, tuple[float, float]]:
    """Per type (recall, precision) of the anonymizer's detections against the gold spans."""
    import gzip
    from collections import Counter, defaultdict

    import polars as pl

    sys.path.insert(0, str(HERE.parent))
    from pipeline.privacy.anonymize import Anonymizer

    gold = defaultdict(set)
    with gzip.open(HERE / "out" / f"source-{interactions}" / "gold" / "pii_spans.jsonl.gz", "rt") as fh:
        for line in fh:
            g = json.loads(line)
            gold[g["request_id"]].add((g["type"], g["text"]))
    frame = pl.read_parquet(path)
    hit, missed, false_pos = Counter(), Counter(), Counter()
    for rid, found in zip(frame["request_id"], Anonymizer(b"bench").detect(frame["t"])):
        expected, got = gold.get(rid, set()), set(found)
        for kind, _ in got & expected:
            hit[kind] += 1
        for kind, _ in expected - got:
            missed[kind] += 1
        for kind, _ in got - expected:
            false_pos[kind] += 1
    return {k: (hit[k] / max(1, hit[k] + missed[k]), hit[k] / max(1, hit[k] + false_pos[k]))
            for k in sorted(set(hit) | set(missed) | set(false_pos))}


def corpus_scores() -> dict:
    """Per type recall and precision on the multi-country corpus (tests/pii_corpus.py)."""
    import polars as pl

    sys.path.insert(0, str(HERE.parent))
    from pipeline.privacy.anonymize import Anonymizer
    from tests.pii_corpus import CORPUS, score

    anonymizer = Anonymizer(b"bench")
    texts = [t for t, _ in CORPUS]
    scrubbed, _ = anonymizer.scrub(pl.DataFrame({"t": texts}), ["t"])
    return score(texts, scrubbed["t"].to_list(), anonymizer.detect(pl.Series(texts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    args = parser.parse_args()
    path = texts_file(args.interactions)
    floor, ours = measure("floor", path), measure("anonymize", path)
    mb = ours["bytes"] / 1e6
    print(f"input: {ours['rows']:,} texts, {mb:,.0f} MB")
    for name, r in (("Polars read-only pass", floor), ("anonymizer", ours)):
        print(f"{name:<22} {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>10,.0f} rows/s  "
              f"{mb / r['seconds']:>8,.1f} MB/s  peak RSS {r['peak_rss_mb']:,.0f} MB")
    print(f"throughput ratio anonymizer / floor: {floor['seconds'] / ours['seconds']:.3f} (target >= 0.15); "
          f"{ours['replaced']:,} values replaced")
    structured = {"EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS", "SECRET", "URL_TOKEN", "STREET_ADDRESS"}
    for kind, (recall, precision) in gold_scores(args.interactions, path).items():
        target = "(target recall >= 0.99, precision >= 0.98)" if kind in structured else "(no target)"
        print(f"  {kind:<15} recall {recall:.4f}  precision {precision:.4f}  {target}")
    corpus = corpus_scores()
    print(f"multi-country corpus (tests/pii_corpus.py): precision {corpus['precision']:.4f} over all types "
          f"(target >= 0.98), {len(corpus['changed_look_alikes'])} look-alikes changed")
    for kind, stats in corpus["per_type"].items():
        target = "recall >= 0.99" if kind in structured else "recall >= 0.9"
        print(f"  {kind:<15} n={stats['n']:<3} recall {stats['recall']:.4f}  precision {stats['precision']:.4f}  "
              f"(target {target}, precision >= 0.98)")


if __name__ == "__main__":
    main()
