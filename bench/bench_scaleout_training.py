"""DDP training on 1 vs 2 instances of a cluster: the same job, the wall time and where it goes.

The job (``bench/ddp/train_mlp.py``) trains an MLP for a fixed number of steps with a fixed
global batch: with 2 instances each rank computes half of every step and DDP all-reduces the
gradients over gloo. Reported per run: the job's wall time (submit to Completed), the training
loop (``train_s``), what the all-reduce adds (``allreduce_share``, measured by the script) and
the rest (the Ray job, reservation, downloads, packaging).

Usage (from the repository root): ``python bench/bench_scaleout_training.py [--compute URI]``;
without ``--compute`` it starts its own moto S3, PostgreSQL and two-node Ray cluster (one CPU
per node; ``bench/_cluster.py``). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench")]

from sagebox.session import Session  # noqa: E402
from sagebox.training import Estimator  # noqa: E402

SOURCE = REPO / "bench" / "ddp"


def time_job(session: Session, instances: int, samples: int, epochs: int) -> dict[str, Any]:
    """Run the DDP job on ``instances`` instances; return its wall time and the script's."""
    estimator = Estimator(
        entry_point="train_mlp.py",
        source_dir=str(SOURCE),
        instance_count=instances,
        hyperparameters={"samples": samples, "epochs": epochs},
        session=session,
    )
    started = time.perf_counter()
    job = estimator.fit(logs=False)
    seconds = time.perf_counter() - started
    archive = session.storage.read_bytes(session.key_for(job.outputs["model"]))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile("timings.json")
        assert member is not None
        timings = json.load(member)
    return {"seconds": seconds, **timings}


def measure(
    session: Session | None = None, *, samples: int = 64000, epochs: int = 2, warmup: bool = True
) -> dict[str, Any]:
    """The same DDP job on 1 and 2 instances; the figures as a JSON-ready dict."""
    session = session or Session()
    if warmup:  # the cluster's first job starts Ray's worker processes and imports torch
        time_job(session, 2, samples=2048, epochs=1)
    one = time_job(session, 1, samples, epochs)
    two = time_job(session, 2, samples, epochs)
    figures: dict[str, Any] = {"compute": session.settings.compute, "samples": samples}
    for label, run in (("instances_1", one), ("instances_2", two)):
        figures[label] = {
            "seconds": round(run["seconds"], 2),
            "train_s": round(run["train_s"], 2),
            "allreduce_share": round(run["allreduce_share"], 2),
            "outside_training_s": round(run["seconds"] - run["train_s"], 2),
            "steps": run["steps"],
        }
    figures["speedup_2_over_1"] = round(one["seconds"] / two["seconds"], 2)
    figures["training_loop_speedup_2_over_1"] = round(one["train_s"] / two["train_s"], 2)
    return figures


def main() -> None:
    """Parse the options, measure, print one JSON line."""
    from _cluster import cluster_profile

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--compute", metavar="URI", help="default: start a two-node cluster")
    parser.add_argument("--samples", type=int, default=64000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    if args.compute:
        os.environ["SAGEBOX_COMPUTE"] = args.compute
        print(json.dumps(measure(samples=args.samples, epochs=args.epochs)))
        return
    with cluster_profile() as env:
        os.environ.update(env)
        session = Session()
        session.storage.ensure_bucket()  # type: ignore[attr-defined]
        print(json.dumps(measure(session, samples=args.samples, epochs=args.epochs)))


if __name__ == "__main__":
    main()
