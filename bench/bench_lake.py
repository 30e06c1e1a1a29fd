"""Benchmark the lake: SQL over a crawled Parquet table vs pandas on the CSV, and crawl time.

Figures (one JSON line on stdout):
- ``aggregate``: count and mean rating per product_category and sentiment over the reviews
  replicated to 200,000 rows, with ``SqlEngine`` (what ``sagebox sql`` runs: catalog look-up,
  file listing, DuckDB, query history) over the crawled Parquet table, against the peer
  ``pandas.read_csv`` + ``groupby`` on the CSV, measured in the same run; medians of
  ``--repeats`` runs after one warm-up; results asserted identical. ``cli_s`` is one
  ``sagebox sql`` command end to end (interpreter start-up and imports included).
- ``crawl``: crawling 200 Parquet files (20 Hive partitions x 10 files), in-process and as a
  ``crawler`` job (``sagebox crawl``), from a cold catalog.

Usage: ``python bench/bench_lake.py [--data PATH] [--rows 200000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"

QUERY = """
SELECT "Class Name" AS product_category,
       CASE WHEN Rating <= 2 THEN -1 WHEN Rating = 3 THEN 0 ELSE 1 END AS sentiment,
       COUNT(*) AS n,
       AVG(Rating) AS mean_rating
FROM bench.reviews
GROUP BY 1, 2
"""


def _replicate(data: Path, rows: int) -> Any:
    import pandas as pd

    frame = pd.read_csv(data)
    copies = -(-rows // len(frame))
    big = pd.concat([frame] * copies, ignore_index=True).iloc[:rows].copy()
    big["review_id"] = range(len(big))
    return big


def _pandas_aggregate(csv: Path) -> Any:
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(csv)
    rating = frame["Rating"]
    frame["sentiment"] = np.select([rating <= 2, rating == 3], [-1, 0], default=1)
    out = (
        frame.groupby(["Class Name", "sentiment"], dropna=False)["Rating"]
        .agg(n="count", mean_rating="mean")
        .reset_index()
        .rename(columns={"Class Name": "product_category"})
    )
    return out


def _median_time(fn: Any, repeats: int) -> tuple[float, Any]:
    result = fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _same(sql: Any, peer: Any) -> bool:
    key = ["product_category", "sentiment"]
    left = sql.sort_values(key, na_position="first").reset_index(drop=True)
    right = peer.sort_values(key, na_position="first").reset_index(drop=True)
    if len(left) != len(right):
        return False
    same_keys = (
        left["product_category"].fillna("<NA>") == right["product_category"].fillna("<NA>")
    ).all()
    same_counts = (left["n"].astype(int) == right["n"].astype(int)).all()
    close = ((left["mean_rating"] - right["mean_rating"]).abs() < 1e-9).all()
    same_sentiment = (left["sentiment"].astype(int) == right["sentiment"].astype(int)).all()
    return bool(same_keys and same_counts and close and same_sentiment)


def _crawl_200(session: Any, big: Any, home: Path) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sagebox.catalog.crawler import Crawler
    from sagebox.jobs import JobClient

    categories = sorted(big["Class Name"].dropna().unique())[:20]
    per_file = len(big) // 200
    root = home / "lake" / "bench200" / "reviews"
    n = 0
    for category in categories:
        folder = root / f"product_category={category}"
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(10):
            chunk = big.iloc[n * per_file : (n + 1) * per_file].drop(columns=["Class Name"])
            pq.write_table(
                pa.Table.from_pandas(chunk, preserve_index=False), folder / f"part-{part}.parquet"
            )
            n += 1
    started = time.perf_counter()
    summary = Crawler(session).crawl("bench200/", "bench200")
    in_process = time.perf_counter() - started
    assert summary.files == 200, summary.files
    assert summary.tables[0].partitions_added == len(categories)
    jobs = JobClient(session)
    started = time.perf_counter()
    job = jobs.wait(
        jobs.submit("crawler", parameters={"uri": "bench200/", "database": "bench200_job"}).name
    )
    as_job = time.perf_counter() - started
    assert job.status.value == "Completed", job.failure_reason
    return {
        "files": 200,
        "partitions": len(categories),
        "in_process_s": round(in_process, 3),
        "job_s": round(as_job, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"no data at {args.data}: pass --data reviews.csv")

    with tempfile.TemporaryDirectory(prefix="sagebox-bench-lake-") as tmp:
        home = Path(tmp) / "home"
        os.environ["SAGEBOX_HOME"] = str(home)
        for key in ("SAGEBOX_STORAGE_URI", "SAGEBOX_METADATA_URI"):
            os.environ.pop(key, None)
        from sagebox import lake
        from sagebox.catalog.crawler import Crawler
        from sagebox.session import Session
        from sagebox.sql import SqlEngine

        session = Session()
        big = _replicate(args.data, args.rows)
        csv = Path(tmp) / "reviews-200k.csv"
        big.to_csv(csv, index=False)
        lake.to_parquet(big, "bench/reviews/", mode="overwrite", session=session)
        Crawler(session).crawl("bench/", "bench")

        sagebox_bin = str(Path(sys.executable).with_name("sagebox"))
        engine = SqlEngine(session)
        sql_s, last = _median_time(lambda: engine.execute(QUERY), args.repeats)
        sql_result = last.to_pandas()
        pandas_s, peer = _median_time(lambda: _pandas_aggregate(csv), max(1, args.repeats // 2))
        identical = _same(sql_result, peer)
        assert identical, "SQL and pandas results differ"

        started = time.perf_counter()
        cli = subprocess.run(
            [sagebox_bin, "sql", " ".join(QUERY.split()), "--format", "csv"],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 0, cli.stderr
        cli_s = time.perf_counter() - started

        crawl = _crawl_200(session, big, home)
        figures = {
            "benchmark": "lake",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "rows": len(big),
            "csv_mb": round(csv.stat().st_size / 2**20, 1),
            "aggregate": {
                "groups": len(sql_result),
                "sql_engine_s": round(sql_s, 4),
                "sql_last_timings_s": {k: round(v, 4) for k, v in last.timings.items()},
                "peer_pandas_read_csv_groupby_s": round(pandas_s, 4),
                "speedup": round(pandas_s / sql_s, 1),
                "identical": identical,
                "cli_s": round(cli_s, 3),
            },
            "crawl": crawl,
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
