"""Probe: kill job runners with SIGKILL at random points and check that nothing wedges.

Each round submits two long jobs (their command starts a child and sleeps) on a fresh
``SAGEBOX_HOME`` with ``max_workers=2`` and short leases, kills each runner with SIGKILL after a
random delay (while starting, waiting for a slot, or running its job), then checks:

- the killed job ends (Failed, or Completed/Failed if it ended on its own first) when someone
  looks (``JobClient.list``);
- the processes it started are gone;
- a later job still gets a slot and completes.

Prints one JSON line: kills tried, jobs recovered (ended and without leftover processes), later
jobs completed, and the seconds from a kill to its job being ended (median, max).

Usage: ``python bench/bench_job_kills.py [--rounds 10] [--seed 15]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

_LEASE_S = 2.0
_HEARTBEAT_S = 0.2

_FAMILY = (
    "import os, pathlib, subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "marker = pathlib.Path(sys.argv[1])\n"
    "marker.with_suffix('.tmp').write_text(f'{os.getpid()} {child.pid}')\n"
    "marker.with_suffix('.tmp').rename(marker)\n"
    "time.sleep(300)\n"
)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="sagebox-kills-"))
    os.environ.update(
        SAGEBOX_HOME=str(home / "home"),
        SAGEBOX_MAX_WORKERS="2",
        SAGEBOX_JOB_LEASE_SECONDS=str(_LEASE_S),
        SAGEBOX_JOB_HEARTBEAT_SECONDS=str(_HEARTBEAT_S),
    )
    from sagebox.jobs import JobClient
    from sagebox.session import Session

    jobs = JobClient(Session())
    kills = recovered = later_done = 0
    to_end: list[float] = []
    for round_ in range(args.rounds):
        killed = []
        for side in ("a", "b"):
            marker = home / f"{round_}{side}"
            argv = [sys.executable, "-c", _FAMILY, str(marker)]
            job = jobs.submit("command", parameters={"argv": argv})
            time.sleep(rng.uniform(0.0, 2.5))  # the kill point: starting, queued or running
            runner = int(str(jobs.session.metadata.get_job(job.name).handle).split(":")[1])
            os.kill(runner, signal.SIGKILL)
            killed.append((job.name, marker, time.monotonic()))
            kills += 1
        for name, marker, at in killed:

            def ended(name: str = name) -> bool:
                return any(j.name == name and j.status.is_terminal for j in jobs.list(limit=1000))

            ok = _until(ended, _LEASE_S + 60)
            if ok:
                to_end.append(time.monotonic() - at)
            pids = [int(p) for p in marker.read_text().split()] if marker.exists() else []
            gone = _until(lambda pids=pids: not any(_running(p) for p in pids), 30)
            recovered += ok and gone
        later = jobs.submit("command", parameters={"argv": [sys.executable, "-c", "pass"]})
        later_done += jobs.wait(later.name, timeout=120).status.value == "Completed"
    print(
        json.dumps(
            {
                "kills_tried": kills,
                "jobs_recovered": recovered,
                "later_jobs_completed": later_done,
                "later_jobs": args.rounds,
                "lease_s": _LEASE_S,
                "kill_to_ended_s_median": round(statistics.median(to_end), 2) if to_end else None,
                "kill_to_ended_s_max": round(max(to_end), 2) if to_end else None,
            }
        )
    )


if __name__ == "__main__":
    main()
