"""Issue 5's acceptance runs on the real reviews: a profiled fine-tuning, and an overfit stopped.

1. ``profiled``: text-transformer (all-MiniLM-L6-v2) fine-tuned on a balanced sample of the
   reviews (``../shared/data/womens_clothing_reviews/reviews.csv``, course transformation) with
   the hook at its defaults, the 500 ms system monitor, every debugger rule that applies to a
   healthy run and the five profiler rules (``patience`` lowered so that a run of minutes is
   judged). Its profiler report is written to ``--out-dir``; with ``--png`` also a screenshot
   (``bench/profiler_report_screenshot.py``).
2. ``overfit``: the same model on a deliberately tiny training set (a few dozen reviews, many
   epochs, validation on a few hundred) with ``Overfit`` + ``StopTraining``: the rule must stop
   the job (status Stopped, reason naming the rule) long before its last epoch.

It runs in its own ``SAGEBOX_HOME`` (a temp dir unless ``--home``) and prints one JSON line per
run with the job, its status and reason, the rule statuses and timings.

Usage: ``python bench/debugger_reviews.py [--rows 1200] [--epochs 1] [--out-dir /tmp/dbg]
[--png docs/images/profiler-report.png] [--only profiled|overfit]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews" / "reviews.csv"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _upload_splits(session: Any, data: Path, rows: int, tiny: int, work: Path) -> dict[str, str]:
    """Balanced train/validation splits (and a tiny train set) in the lake; name → key."""
    from sagebox.datasets import balance_classes, read_raw_reviews, split_dataset, to_sentiment

    table = balance_classes(to_sentiment(read_raw_reviews(data)), seed=0)
    table = table.sample(n=min(rows, len(table)), random_state=0)
    train, validation, _ = split_dataset(table, 0.8, 0.2, 0.0, seed=0)
    parts = {
        "train": train,
        "validation": validation,
        "tiny": train.groupby("sentiment").head(tiny // 3),
    }
    keys = {}
    for name, part in parts.items():
        local = work / f"{name}.parquet"
        part.to_parquet(local)
        keys[name] = f"debugger-demo/{name}/part-0.parquet"
        session.storage.upload(local, keys[name])
        _log(f"{name}: {len(part)} reviews")
    return keys


def _summary(session: Any, job_name: str, seconds: float) -> dict[str, Any]:
    job = session.metadata.get_job(job_name)
    rules = {
        r.rule_name: {"status": r.status, "step": r.step, "message": r.message}
        for r in session.metadata.list_rule_evaluations(job_name)
    }
    return {
        "job": job_name,
        "status": job.status.value,
        "reason": job.failure_reason,
        "seconds": round(seconds, 1),
        "metrics": {k: round(v, 4) for k, v in job.metrics.items()},
        "rules": rules,
    }


def _profiled(session: Any, keys: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from sagebox.debugger import RuleConfig
    from sagebox.profiler.report import write_profiler_report
    from sagebox.training import Estimator

    short = {"patience": 20, "window": 20}
    rules = [
        RuleConfig("LossNotDecreasing", {"num_steps": 50}),
        RuleConfig("VanishingGradient"),
        RuleConfig("ExplodingTensor"),
        RuleConfig("DeadRelu"),
        RuleConfig("ClassImbalance"),
        RuleConfig("StalledTrainingRule", {"threshold": 600}),
        RuleConfig("CPUBottleneck", {"patience": 20}),
        RuleConfig("IOBottleneck", {"patience": 20}),
        RuleConfig("LowGPUUtilization", short),
        RuleConfig("StepOutlier"),
        RuleConfig("BatchSize", short),
    ]
    est = Estimator(
        algorithm="text-transformer",
        hyperparameters={
            "epochs": args.epochs,
            "max_seq_length": 128,
            "train_batch_size": 16,
            "learning_rate": 5e-5,
        },
        rules=rules,
        session=session,
    )
    started = time.perf_counter()
    job = est.fit({"train": keys["train"], "validation": keys["validation"]}, logs=False)
    out = _summary(session, job.name, time.perf_counter() - started)
    report = write_profiler_report(job.name, args.out_dir / "profiler-report.html", session)
    out["report"] = str(report)
    if args.png is not None:
        shot = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "profiler_report_screenshot.py"),
                job.name,
                "--html",
                str(args.out_dir / "profiler-report-shot.html"),
                "--png",
                str(args.png),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        out["screenshot"] = shot.stdout.strip().splitlines()[-1] if shot.stdout else shot.stderr
    return out


def _overfit(session: Any, keys: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from sagebox.debugger import RuleConfig, StopTraining
    from sagebox.errors import JobError
    from sagebox.training import Estimator

    epochs = 40
    est = Estimator(
        algorithm="text-transformer",
        hyperparameters={
            "epochs": epochs,
            "max_seq_length": 64,
            "train_batch_size": 8,
            "learning_rate": 1e-4,
            "freeze_embeddings": False,
        },
        rules=[RuleConfig("Overfit", {"patience": 2}, actions=[StopTraining()])],
        checkpoint_uri="debugger-demo/checkpoints/overfit",
        session=session,
    )
    started = time.perf_counter()
    with contextlib.suppress(JobError):  # Stopped is the expected outcome
        est.fit({"train": keys["tiny"], "validation": keys["validation"]}, logs=False)
    job_name = str(est.latest_job_name)
    out = _summary(session, job_name, time.perf_counter() - started)
    epochs_done = est.metrics("epoch")
    out["epochs_done"] = int(epochs_done[-1].value) if epochs_done else 0
    out["epochs_asked"] = epochs
    out["checkpoints"] = [i.key for i in session.storage.list("debugger-demo/checkpoints/overfit/")]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--tiny", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("debugger-demo"))
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument("--only", choices=("profiled", "overfit"), default=None)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    home = args.home or Path(tempfile.mkdtemp(prefix="sagebox-debugger-"))
    os.environ["SAGEBOX_HOME"] = str(home)
    from sagebox.session import Session

    session = Session()
    keys = _upload_splits(session, args.data, args.rows, args.tiny, args.out_dir)
    if args.only in (None, "profiled"):
        _log("profiled fine-tuning")
        print(json.dumps({"run": "profiled", **_profiled(session, keys, args)}), flush=True)
    if args.only in (None, "overfit"):
        _log("overfitting run with Overfit + StopTraining")
        print(json.dumps({"run": "overfit", **_overfit(session, keys, args)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
