"""A finished training job with synthetic debug and profiler events, for report and CLI tests.

The events are written with the real :class:`EventWriter` into the job's local debug directory
(``<SAGEBOX_HOME>/jobs/<job>/work/debug``), exactly where a training job puts them; the job and
its rule statuses are real records in the metadata store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sagebox.backends.metadata.base import JobRecord, JobStatus, RuleEvaluationRecord
from sagebox.debugger.events import EventWriter
from sagebox.session import Session

T0 = 1_800_000_000.0
STEPS = 40
OUTLIER_STEP = 25
CORES = 4
BATCH = 8
SAMPLES = 60  # system samples, 0.5 s apart


def debug_dir(session: Session, job: str) -> Path:
    """Where a job run on this machine keeps its debug data."""
    return session.settings.jobs_dir / job / "work" / "debug"


def write_events(root: Path, host: str = "algo-1", gpu: bool = False) -> None:
    """System samples, framework phases (one slow step) and train/eval loss curves."""
    system = EventWriter(root, "system", host)
    for i in range(SAMPLES):
        sample = {
            "time": T0 + 0.5 * i,
            "interval": 0.5,
            "cpu": [90.0 if c == 0 else 10.0 + c for c in range(CORES)],
            "cpu_total": 33.0,
            "memory_percent": 41.5,
            "memory_used_mb": 2048.0,
            "disk_read_mb_s": 2.0,
            "disk_write_mb_s": 0.5,
            "net_recv_mb_s": 0.1,
            "net_sent_mb_s": 0.05,
            "gpu": [{"index": 0, "util": 55.0, "memory_percent": 20.0}] if gpu else [],
        }
        system.write(sample)
    system.close()
    framework = EventWriter(root, "framework", host)
    start = T0 + 1.0
    for step in range(1, STEPS + 1):
        duration = 0.5 if step == OUTLIER_STEP else 0.1
        phases = {"data": 0.02, "forward": 0.03, "backward": 0.03, "optimizer": 0.01}
        t = start
        for phase, seconds in phases.items():
            if phase == "forward" and step == OUTLIER_STEP:
                seconds += 0.4
            framework.write({"step": step, "phase": phase, "start": t, "end": t + seconds})
            t += seconds
        framework.write(
            {
                "step": step,
                "phase": "step",
                "start": start,
                "end": start + duration,
                "batch_size": BATCH,
            }
        )
        start += duration
    framework.close()
    scalars = EventWriter(root, "scalars", host)
    for step in range(1, STEPS + 1):
        scalars.write({"step": step, "mode": "train", "name": "loss", "value": 1.0 / step})
        scalars.write({"step": step, "mode": "train", "name": "learning_rate", "value": 2e-5})
        if step % 10 == 0:
            scalars.write({"step": step, "mode": "eval", "name": "loss", "value": 0.5 + step / 100})
    scalars.close()


def make_profiled_job(
    session: Session,
    name: str = "training-profiled",
    *,
    events: bool = True,
    status: JobStatus = JobStatus.COMPLETED,
    evaluations: bool = True,
) -> JobRecord:
    """Record a training job (with rules, one of which found an issue) and its debug events."""
    started = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    job = session.metadata.create_job(
        JobRecord(
            name=name,
            kind="training",
            status=status,
            parameters={
                "algorithm": "text-transformer",
                "instance_count": 1,
                "instance_type": "local",
                "hyperparameters": {"epochs": 1, "learning_rate": 2e-5},
                "rules": [
                    {"name": "Overfit", "actions": [{"type": "stop_training"}]},
                    {"name": "LossNotDecreasing"},
                    {"name": "StepOutlier"},
                ],
                "profiler_config": {"system_monitor_interval_millis": 500},
            },
            metrics={"train:loss": 0.025, "validation:accuracy": 0.81},
            started_at=started,
            ended_at=None if not status.is_terminal else started + timedelta(seconds=75),
        )
    )
    if events:
        write_events(debug_dir(session, name))
    if evaluations:
        session.metadata.put_rule_evaluation(
            RuleEvaluationRecord(
                job_name=name,
                rule_name="Overfit",
                kind="debugger",
                status="IssuesFound",
                step=30,
                message="validation loss 0.80 is 27x the training loss 0.03",
                evidence={"train_loss": 0.03, "validation_loss": 0.8},
                actions=[{"type": "stop_training", "result": "job stopped"}],
            )
        )
        session.metadata.put_rule_evaluation(
            RuleEvaluationRecord(
                job_name=name,
                rule_name="LossNotDecreasing",
                kind="debugger",
                status="NoIssuesFound",
            )
        )
    return job
