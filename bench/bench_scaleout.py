"""Scale-out on a loopback two-node Ray cluster against the local backend (issue 16).

Starts moto's S3 server, PostgreSQL and a two-node Ray cluster on 127.0.0.1 (each node one
CPU; ``bench/_cluster.py``), then measures, in one run:

- **per-job overhead**: wall time of a ``command`` job that works 10 s (a busy loop), submitted
  and waited on with :meth:`JobClient.run`, on the local backend and on Ray, both with the
  same S3 lake and PostgreSQL metadata store (only the compute backend differs); median of
  ``--repeats``; goal: Ray <= 1.5x local;
- **submission throughput**: ``--jobs`` (200) short jobs (``true``) run through, at most
  ``--window`` (16) unfinished at once, jobs/s on both backends (``max_workers`` =
  ``--slots``);
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "src")]

from _cluster import cluster_profile  # noqa: E402

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


def session_for(profile: dict[str, str], compute: str, slots: int) -> Session:
    """A session on the profile's S3 lake and PostgreSQL, with ``compute``."""
    env = {**profile, "SAGEBOX_COMPUTE": compute, "SAGEBOX_MAX_WORKERS": str(slots)}
    os.environ.update(env)  # the job runners inherit it (on Ray: the SAGEBOX_* variables)
    session = Session(load_settings(env=env, toml_path=None))
    session.storage.ensure_bucket()  # type: ignore[attr-defined]
    return session


def time_busy_job(session: Session, seconds: float) -> float:
    """Wall time of one ``command`` job busy for ``seconds``, submit to Completed."""
    start = time.perf_counter()
    JobClient(session).run("command", {"argv": [sys.executable, "-c", BUSY, str(seconds)]})
    return time.perf_counter() - start


def throughput(session: Session, count: int, window: int) -> dict[str, float]:
    """Run ``count`` jobs that do nothing, at most ``window`` unfinished at once; jobs per second.

    The window keeps the machine alive: every submitted job is a process (a local runner, or a
    Ray job's supervisor and driver) until it ends, whether or not it holds a worker slot.
    """
    client = JobClient(session)
    start = time.perf_counter()
    pending: list[str] = []
    failed = submitted = 0
    reasons: dict[str, int] = {}
    while submitted < count or pending:
        while submitted < count and len(pending) < window:
            pending.append(client.submit("command", {"argv": ["true"]}).name)
            submitted += 1
        job = client.describe(pending[0])
        if job.status.is_terminal:
            if job.status.value != "Completed":
                failed += 1
                reason = (job.failure_reason or job.status.value)[:160]
                reasons[reason] = reasons.get(reason, 0) + 1
            pending.pop(0)
        else:
            time.sleep(0.05)  # polling interval
    elapsed = time.perf_counter() - start
    return {
        "jobs": count,
        "window": window,
        "failed": failed,
        "failure_reasons": reasons,
        "jobs_per_s": round(count / elapsed, 2),
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
    parser.add_argument("--window", type=int, default=16, help="unfinished jobs at most")
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
    with cluster_profile() as profile:
        backends = {"local": "local", "ray": profile["SAGEBOX_COMPUTE"]}
        if "overhead" not in skip:
            overhead = {}
            for name, uri in backends.items():
                session = session_for(profile, uri, args.slots)
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
                name: throughput(session_for(profile, uri, args.slots), args.jobs, args.window)
                for name, uri in backends.items()
            }
        if "processing" not in skip:
            from bench_scaleout_processing import measure as measure_processing

            result["processing"] = measure_processing(
                session_for(profile, backends["ray"], args.slots)
            )
        if "training" not in skip:
            from bench_scaleout_training import measure as measure_training

            result["training"] = measure_training(session_for(profile, backends["ray"], args.slots))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
