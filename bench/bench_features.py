"""Benchmark feature engineering and the feature store.

Figures (one JSON line on stdout):
- ``engineering``: the ``review-features`` job (labels, split, tokenize to 128 tokens; no
  balancing, so that all 19,255 reviews with text are tokenized) with 1 and with 2 workers:
  job wall time, the tokenizing stage's time (worker start-up included), the speed-up, and
  whether both outputs are identical (asserted); once with the tokenizer's threads shared
  out among the workers (the default: 2 threads for 1 worker, 1 each for 2), once pinned to
  1 thread per worker (as if each worker were a 1-core instance);
- ``tokenize``: in-process tokenization throughput of every review with text (reviews/s);
- ``ingest`` / ``get_record``: 100,000 records of the engineered features (ids, labels,
  text, two 128-token vectors) ingested into an offline-only group, a SQLite-online group and
  a Redis-online group (records/s), then 2,000 single-record ``get_record`` calls per online
  store (p50/p99 latency, ms);
- ``point_in_time``: a point-in-time join of 1,000,000 feature rows (100,000 ids, 5 %
  deletion markers, duplicate versions) against 100,000 entity rows, sagebox's
  ``point_in_time_join`` against the peer ``pandas.merge_asof`` (with the same de-duplication
  and deletion handling), best of ``--repeats``; results asserted identical.

Usage: ``python bench/bench_features.py [--data PATH] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"


def _engineering(session: Any, raw_key: str) -> dict[str, Any]:
    """The job with 1 and 2 workers: threads shared out (default) and pinned to 1 per worker."""
    import pandas as pd

    from sagebox.jobs import JobClient

    jobs = JobClient(session)
    out: dict[str, Any] = {}
    for mode, threads in (("default_threads", None), ("one_thread_per_worker", 1)):
        figures: dict[str, Any] = {}
        splits = {}
        for workers in (1, 2):
            params = {
                "instance_count": workers,
                "event_time": "2026-11-28T00:00:00Z",
                "balance": False,
            }
            if threads:
                params["threads_per_worker"] = threads
            job = jobs.wait(
                jobs.submit("review-features", parameters=params, inputs={"raw": raw_key}).name,
                timeout=1800,
            )
            assert job.status.value == "Completed", job.failure_reason
            assert job.started_at is not None and job.ended_at is not None
            figures[f"job_s_{workers}w"] = round((job.ended_at - job.started_at).total_seconds(), 2)
            figures[f"tokenize_stage_s_{workers}w"] = round(job.metrics["tokenize_seconds"], 2)
            splits[workers] = {
                s: pd.read_parquet(
                    io.BytesIO(session.storage.read_bytes(session.key_for(job.outputs[s])))
                )
                for s in ("train", "validation", "test")
            }
            out["rows"] = sum(len(f) for f in splits[workers].values())
        for split in splits[1]:
            pd.testing.assert_frame_equal(splits[1][split], splits[2][split])
        figures["identical_outputs"] = True
        figures["speedup_job"] = round(figures["job_s_1w"] / figures["job_s_2w"], 2)
        figures["speedup_tokenize_stage"] = round(
            figures["tokenize_stage_s_1w"] / figures["tokenize_stage_s_2w"], 2
        )
        out[mode] = figures
    return out


def _tokenize(texts: list[str]) -> dict[str, Any]:
    from sagebox.processing.tokenize import ReviewTokenizer

    tokenizer = ReviewTokenizer(max_seq_length=128)
    tokenizer.encode(texts[:500])
    started = time.perf_counter()
    tokenizer.encode(texts)
    seconds = time.perf_counter() - started
    return {
        "reviews": len(texts),
        "seconds": round(seconds, 2),
        "reviews_per_second": round(len(texts) / seconds),
    }


def _records(frame: Any, count: int) -> Any:
    import pandas as pd

    copies = -(-count // len(frame))
    big = pd.concat([frame] * copies, ignore_index=True).iloc[:count].copy()
    big["review_id"] = range(len(big))
    return big.reset_index(drop=True)


def _start_redis(root: Path) -> tuple[subprocess.Popen[bytes] | None, str | None]:
    program = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(program).is_file():
        return None, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            program,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(root),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling interval, not synchronisation
    client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


def _store(session: Any, records: Any, name: str, online: bool, lookups: int) -> dict[str, Any]:
    import numpy as np

    from sagebox.features import FeatureGroup
    from sagebox.processing.review_features import feature_definitions

    group = FeatureGroup(name, feature_definitions=feature_definitions(128), session=session)
    group.create("review_id", "date", enable_online_store=online)
    result = group.ingest(records, max_workers=2, batch_size=2000)
    out: dict[str, Any] = {
        "records": result.rows,
        "records_per_second": round(result.records_per_second),
    }
    if online:
        ids = np.random.default_rng(0).integers(0, len(records), lookups).tolist()
        group.get_record(ids[0])
        timings = []
        for rid in ids:
            started = time.perf_counter()
            found = group.get_record(rid)
            timings.append(time.perf_counter() - started)
            assert found is not None
        ms = np.array(timings) * 1000
        out["get_record_p50_ms"] = round(float(np.percentile(ms, 50)), 3)
        out["get_record_p99_ms"] = round(float(np.percentile(ms, 99)), 3)
    group.close()
    return out


def _point_in_time(repeats: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from sagebox.features.pit import merge_asof_reference, point_in_time_join

    rng = np.random.default_rng(0)
    n_features, n_entities, n_ids = 1_000_000, 100_000, 100_000
    base = 1_764_000_000.0  # seconds since the epoch (2025-11)
    features = pd.DataFrame(
        {
            "review_id": rng.integers(0, n_ids, n_features),
            "date": base + rng.integers(0, 30 * 86400, n_features),
            "write_time": rng.integers(0, 3, n_features),
            "is_deleted": rng.random(n_features) < 0.05,
            "sentiment": rng.integers(-1, 2, n_features),
            "score": rng.random(n_features),
        }
    )
    entities = pd.DataFrame(
        {
            "review_id": rng.integers(0, n_ids + 1000, n_entities),
            "date": base + rng.integers(0, 30 * 86400, n_entities),
            "label": rng.integers(0, 3, n_entities),
        }
    )
    args = {
        "entity_id": "review_id",
        "entity_time": "date",
        "feature_id": "review_id",
        "feature_time": "date",
        "columns": ["sentiment", "score"],
    }
    ours, peer = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        got = point_in_time_join(entities, features, **args)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        want = merge_asof_reference(entities, features, **args)
        peer.append(time.perf_counter() - started)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    return {
        "feature_rows": n_features,
        "entity_rows": n_entities,
        "sagebox_s": round(min(ours), 3),
        "pandas_merge_asof_s": round(min(peer), 3),
        "speedup": round(min(peer) / min(ours), 1),
        "matched": int(got["score"].notna().sum()),
        "identical": True,
    }


def main() -> None:
    """Run every benchmark and print one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()

    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="sagebox-bench-features-") as tmp:
        os.environ["SAGEBOX_HOME"] = str(Path(tmp) / "home")
        from sagebox.datasets import generate_reviews
        from sagebox.session import Session

        session = Session()
        if args.data.is_file():
            raw, source = pd.read_csv(args.data), str(args.data)
        else:
            raw, source = generate_reviews(20_000, seed=0), "synthetic (20,000 reviews)"
        session.storage.write_bytes("raw/reviews.csv", raw.to_csv(index=False).encode())
        figures: dict[str, Any] = {
            "benchmark": "features",
            "data": source,
            "machine": f"{os.cpu_count()}-core {platform.machine()}",
            "python": platform.python_version(),
        }
        figures["engineering"] = _engineering(session, "raw/reviews.csv")
        texts = raw["Review Text"].dropna().astype(str).tolist()
        figures["tokenize"] = _tokenize(texts)

        from sagebox.jobs import JobClient

        job = JobClient(session).list(kind="review-features", limit=1)[0]
        engineered = pd.concat(
            pd.read_parquet(io.BytesIO(session.storage.read_bytes(session.key_for(job.outputs[s]))))
            for s in ("train", "validation", "test")
        )
        records = _records(engineered, args.records)
        figures["ingest"] = {}
        figures["get_record"] = {}
        offline = _store(session, records, "bench-offline", False, 0)
        figures["ingest"]["offline_only_records_per_second"] = offline["records_per_second"]
        sqlite = _store(session, records, "bench-sqlite", True, args.lookups)
        figures["ingest"]["sqlite_online_records_per_second"] = sqlite["records_per_second"]
        figures["get_record"]["sqlite"] = {k: v for k, v in sqlite.items() if "ms" in k}
        proc, url = _start_redis(Path(tmp))
        if url is not None:
            try:
                os.environ["SAGEBOX_ONLINE_STORE_URI"] = url
                redis_session = Session()
                result = _store(redis_session, records, "bench-redis", True, args.lookups)
                figures["ingest"]["redis_online_records_per_second"] = result["records_per_second"]
                figures["get_record"]["redis"] = {k: v for k, v in result.items() if "ms" in k}
            finally:
                assert proc is not None
                proc.terminate()
                proc.wait(timeout=10)
        figures["ingest"]["records"] = len(records)
        figures["point_in_time"] = _point_in_time(args.repeats)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
