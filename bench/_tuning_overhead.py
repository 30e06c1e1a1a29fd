"""Part B of ``bench_tuning.py``: the tuner's overhead with real tuning and training jobs.

A :class:`~sagebox.tuning.HyperparameterTuner` over a script-mode estimator
(``bench/tuning_trial/train.py``: ``--seconds`` of single-threaded CPU work, then
``score=...`` captured by ``metric_definitions``), Random strategy, one tuned range, the local
backend with two worker slots and an isolated ``SAGEBOX_HOME`` in a temporary directory. Two
studies of ``--trials`` trials: ``max_parallel_jobs`` 1, then 2.

From the sequential study, per trial (times from the job records):

- ``tuner_gap``: the previous trial's end → this trial's creation (the tuner notices the end —
  it polls every ``POLL_SECONDS`` —, tells the study, asks it, records and submits the trial);
- ``job_start``: creation → the trial's start (the backend starts the job's runner);
- ``trial_extra``: the trial's start → end minus the work (the training job's own start-up and
  finish: interpreter, staging the code, metric capture, outputs);
- ``tuner_cost_per_trial``: (the tuning job's wall time − the sum of the trials' durations) /
  trials, the goal's figure, as a % of ``--trial-seconds`` (goal < 2%).

The speed-up is the sequential study's wall time over the parallel one's (goal >= 1.6x).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TRIAL_DIR = Path(__file__).resolve().parent / "tuning_trial"


def _seconds(a: Any, b: Any) -> float:
    return (b - a).total_seconds()


def run_study(
    session: Any, trials: int, parallel: int, seconds: float, name: str
) -> dict[str, Any]:
    """One tuning job; its timings from the job records."""
    from sagebox.training import Estimator
    from sagebox.tuning import ContinuousParameter, HyperparameterTuner

    estimator = Estimator(
        entry_point="train.py",
        source_dir=TRIAL_DIR,
        hyperparameters={"seconds": seconds},
        metric_definitions=[{"Name": "validation:score", "Regex": r"score=([0-9.]+)"}],
        session=session,
    )
    tuner = HyperparameterTuner(
        estimator,
        "validation:score",
        {"x": ContinuousParameter(0.0, 1.0)},
        strategy="Random",
        max_jobs=trials,
        max_parallel_jobs=parallel,
        random_seed=0,
    )
    start = time.perf_counter()
    tuner.fit(job_name=name, wait=True)
    client_wall = time.perf_counter() - start
    job = session.metadata.get_job(name)
    records = sorted(
        (session.metadata.get_job(f"{name}-{i + 1:03d}") for i in range(trials)),
        key=lambda r: r.created_at,
    )
    durations = [_seconds(r.started_at, r.ended_at) for r in records]
    wall = _seconds(job.started_at, job.ended_at)
    out: dict[str, Any] = {
        "max_parallel_jobs": parallel,
        "trials": trials,
        "statuses": sorted({r.status.value for r in records}),
        "client_wall_s": round(client_wall, 2),
        "tuning_job_wall_s": round(wall, 2),
        "tuning_job_start_s": round(_seconds(job.created_at, job.started_at), 2),
        "trial_duration_median_s": round(statistics.median(durations), 2),
        "sum_trial_durations_s": round(sum(durations), 2),
    }
    if parallel == 1:
        gaps = [
            _seconds(a.ended_at, b.created_at) for a, b in zip(records, records[1:], strict=False)
        ]
        starts = [_seconds(r.created_at, r.started_at) for r in records]
        cost = (wall - sum(durations)) / trials
        out.update(
            tuner_gap_median_s=round(statistics.median(gaps), 3) if gaps else None,
            job_start_median_s=round(statistics.median(starts), 3),
            trial_extra_median_s=round(statistics.median(durations) - seconds, 3),
            tuner_cost_per_trial_s=round(cost, 3),
            tuner_cost_pct_of_trial=round(100 * cost / seconds, 2),
            tuner_gap_pct_of_trial=round(100 * statistics.median(gaps) / seconds, 2)
            if gaps
            else None,
        )
    return out


def measure(trials: int = 20, seconds: float = 20.0, log: Any = print) -> dict[str, Any]:
    """Run part B in an isolated SAGEBOX_HOME; the JSON-ready result."""
    with tempfile.TemporaryDirectory(prefix="bench-tuning-home-") as home:
        os.environ["SAGEBOX_HOME"] = home
        os.environ["SAGEBOX_MAX_WORKERS"] = "2"
        from sagebox.session import Session

        session = Session()
        studies = {}
        for parallel in (1, 2):
            log(f"overhead: {trials} trials x {seconds} s, max_parallel_jobs={parallel}")
            studies[parallel] = run_study(
                session, trials, parallel, seconds, f"bench-overhead-p{parallel}"
            )
            log(f"  {studies[parallel]}")
    sequential, parallel = studies[1], studies[2]
    speedup = sequential["tuning_job_wall_s"] / parallel["tuning_job_wall_s"]
    return {
        "trial_seconds": seconds,
        "trials": trials,
        "trial_work": "CPU time of one single-threaded busy loop (time.process_time)",
        "sequential": sequential,
        "parallel_2": parallel,
        "speedup_2_vs_1": round(speedup, 2),
        "goals": {
            "tuner_cost_lt_2pct": {
                "value_pct": sequential["tuner_cost_pct_of_trial"],
                "met": sequential["tuner_cost_pct_of_trial"] < 2.0,
            },
            "speedup_ge_1_6": {"value": round(speedup, 2), "met": speedup >= 1.6},
        },
    }
