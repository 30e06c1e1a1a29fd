"""Scale-out on a loopback two-node Ray cluster against the local backend (issue 16).

Starts moto's S3 server, PostgreSQL and a two-node Ray cluster on 127.0.0.1 (each node one
CPU; the classes of ``tests/fixtures``), then measures, in one run:

- **per-job overhead**: wall time of a ``command`` job that works 10 s (a busy loop), submitted
  and waited on with :meth:`JobClient.run`, on the local backend and on Ray, both with the
  same S3 lake and PostgreSQL metadata store (only the compute backend differs); median of
  ``--repeats``; goal: Ray <= 1.5x local;
- **submission throughput**: ``--jobs`` (200) short jobs (``true``) submitted back to back and
  waited on, jobs/s on both backends (``max_workers`` = ``--slots``);
- **scaling efficiency**: the same sharded processing job (``bench_scaleout_processing``) and
  the same DDP training job (``bench_scaleout_training``) on 1 vs 2 Ray nodes;
  goal >= 1.6x for processing.

Prints one JSON object; ``bench/RESULTS.md`` records a run with its date and CPU model.

Usage: ``python bench/bench_scaleout.py [--repeats 3] [--jobs 200] [--skip processing,training]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "src")]

from sagebox.config import load_settings  # noqa: E402
from sagebox.jobs import JobClient  # noqa: E402
from sagebox.session import Session  # noqa: E402

BUSY_SECONDS = 10.0
#: a command that keeps one CPU busy for argv[1] seconds
BUSY = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the platform's processor string."""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


@contextmanager
def services() -> Iterator[dict[str, str]]:
    """moto S3, PostgreSQL and a two-node Ray cluster; yields their settings."""
    from tests.fixtures.postgres import PostgresServer, find_postgres_bin
    from tests.fixtures.ray import RayCluster
    from tests.fixtures.s3 import MotoServer

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    s3, pg = MotoServer(), PostgresServer(bin_dir)
    ray_program = str(Path(sys.executable).with_name("ray"))
    cluster = RayCluster(ray_program)
    try:
        s3.start()
        pg.start()
        cluster.start()
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket="bench")
        yield {
            "storage_uri": "s3://bench/lake",
            "s3_endpoint_url": s3.endpoint_url,
            "metadata_uri": pg.create_database("bench"),
            "ray": cluster.uri,
        }
    finally:
        cluster.stop()
        pg.stop()
        s3.stop()


def session_for(config: dict[str, str], compute: str, home: Path, slots: int) -> Session:
    """A session on the shared S3 lake and PostgreSQL with ``compute``."""
    env = {
        "SAGEBOX_HOME": str(home),
        "SAGEBOX_STORAGE_URI": config["storage_uri"],
        "SAGEBOX_S3_ENDPOINT_URL": config["s3_endpoint_url"],
        "SAGEBOX_METADATA_URI": config["metadata_uri"],
        "SAGEBOX_COMPUTE": compute,
        "SAGEBOX_MAX_WORKERS": str(slots),
    }
    os.environ.update(env)  # the job runners inherit it (on Ray: the SAGEBOX_* variables)
    return Session(load_settings(env=env, toml_path=None))


def time_busy_job(session: Session, seconds: float) -> float:
    """Wall time of one ``command`` job busy for ``seconds``, submit to Completed."""
    start = time.perf_counter()
    JobClient(session).run("command", {"argv": [sys.executable, "-c", BUSY, str(seconds)]})
    return time.perf_counter() - start


def throughput(session: Session, count: int) -> dict[str, float]:
    """Submit ``count`` jobs that do nothing, wait for all; jobs per second."""
    client = JobClient(session)
    start = time.perf_counter()
    names = [client.submit("command", {"argv": ["true"]}).name for _ in range(count)]
    submitted = time.perf_counter() - start
    failed = [n for n in names if client.wait(n).status.value != "Completed"]
    elapsed = time.perf_counter() - start
    return {
        "jobs": count,
        "failed": len(failed),
        "submit_per_s": round(count / submitted, 2),
        "completed_per_s": round(count / elapsed, 2),
        "seconds": round(elapsed, 1),
    }


def median_of(repeats: int, run: Callable[[], float]) -> dict[str, Any]:
    times = [run() for _ in range(repeats)]
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument(
        "--skip", default="", help="comma list: overhead,throughput,processing,training"
    )
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
    }
    with services() as config, tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        backends = {"local": "local", "ray": config["ray"]}
        if "overhead" not in skip:
            overhead = {}
            for name, uri in backends.items():
                session = session_for(config, uri, Path(tmp) / name, args.slots)
                time_busy_job(session, 0.5)  # warm: the first job pays for imports and caches
                overhead[name] = median_of(
                    args.repeats, lambda s=session: time_busy_job(s, BUSY_SECONDS)
                )
            overhead["ratio_ray_to_local"] = round(
                overhead["ray"]["median_s"] / overhead["local"]["median_s"], 2
            )
            result["job_of_10s"] = overhead
        if "throughput" not in skip:
            result["throughput"] = {
                name: throughput(session_for(config, uri, Path(tmp) / name, args.slots), args.jobs)
                for name, uri in backends.items()
            }
        if "processing" not in skip:
            from bench_scaleout_processing import measure as measure_processing

            session_for(config, config["ray"], Path(tmp) / "processing", args.slots)
            result["processing"] = measure_processing()
        if "training" not in skip:
            from bench_scaleout_training import measure as measure_training

            session_for(config, config["ray"], Path(tmp) / "training", args.slots)
            result["training"] = measure_training()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
