"""Scaling of a sharded processing job over 1 vs 2 instances (nodes on a Ray cluster).

The job: reviews (``sagebox datasets synth``, fixed seed) split into ``--shards`` CSV shards in
the lake, a ``ShardedByKey`` input, and a pure-Python, CPU-bound function per shard (word and
bigram counts over the review texts, ``--rounds`` times). Each worker writes its counts and
when its work started and ended; the two runs must give the same totals. The figure is the
ratio of the wall times (job submitted to job completed) of ``instance_count=1`` and
``instance_count=2``, with where the time went (see :func:`time_job`).

Where it runs:

- no ``--compute``: the bench starts its own cluster profile on this machine, as the cluster
  tests do (``tests/fixtures``): moto's S3 server, a throwaway PostgreSQL and a two-node Ray
  cluster on 127.0.0.1 with 1 CPU per node (``RayCluster``), and stops them at the end. Needs
  ``ray``, ``moto[server]`` and PostgreSQL's binaries (as ``make test`` does); run it from the
  repository root.
- ``--compute URI``: that compute backend (``ray://HEAD:8265`` of a cluster you started, or
  ``local``), with the lake and metadata store of the environment (``SAGEBOX_STORAGE_URI``,
  ``SAGEBOX_S3_ENDPOINT_URL``, ``SAGEBOX_METADATA_URI``; a cluster needs S3 and PostgreSQL).
  Give each Ray node 1 CPU (``ray start --num-cpus 1``) and keep ``--instance-type local``
  (1 CPU per instance) so that one node's worker gets one core.

Usage: ``python bench/bench_scaleout_processing.py [--compute URI] [--rounds 1600] [--repeat N]``;
prints one JSON line. The lead's ``bench/bench_scaleout.py`` imports :func:`measure`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from sagebox.processing import ProcessingEnvironment, ProcessingInput, ProcessingOutput, Processor
from sagebox.session import Session

__all__ = ["count_words", "make_shards", "measure", "time_job"]

REPO = Path(__file__).resolve().parents[1]


def make_shards(session: Session, prefix: str, shards: int, rows: int, seed: int = 0) -> str:
    """Write ``rows`` synthetic reviews as ``shards`` CSV objects below ``prefix``; return it."""
    from sagebox.datasets.synth import generate_reviews

    frame = generate_reviews(rows, seed=seed)[["review_id", "Review Text"]]
    prefix = prefix.rstrip("/") + "/"
    for index in range(shards):
        part = frame.iloc[index::shards]
        session.storage.write_bytes(
            f"{prefix}shard-{index:03d}.csv", part.to_csv(index=False).encode()
        )
    return prefix


def count_words(env: ProcessingEnvironment) -> None:
    """The CPU-bound worker: word and bigram counts over its shards, ``--rounds`` times."""
    import csv

    started, cpu = time.time(), time.process_time()
    rounds = int(env.arguments[env.arguments.index("--rounds") + 1])
    words: collections.Counter[str] = collections.Counter()
    bigrams = 0
    files = sorted(env.inputs["shards"].glob("*.csv"))
    for path in files:
        with open(path, newline="", encoding="utf-8") as fh:
            texts = [row["Review Text"] for row in csv.DictReader(fh)]
        for round_ in range(rounds):
            for text in texts:
                tokens = [t.strip(".,!?;:'\"()").lower() for t in text.split()]
                if round_ == 0:
                    words.update(t for t in tokens if t)
                bigrams += sum(1 for a, b in zip(tokens, tokens[1:], strict=False) if a and b)
    result = {
        "files": [p.name for p in files],
        "words": sum(words.values()),
        "bigrams": bigrams,
        "node": os.environ.get("SAGEBOX_NODE_ID", "local"),
        "started": started,
        "ended": time.time(),
        "cpu": time.process_time() - cpu,
    }
    (env.outputs["counts"] / f"{env.host}.json").write_text(json.dumps(result))


def time_job(session: Session, instances: int, source: str, rounds: int, **kw: Any) -> dict:
    """Run the job on ``instances`` instances; return its timings and the summed counts.

    Timings (seconds; the submitter's and the nodes' clocks are compared, which on one machine
    is exact): ``seconds`` from submitting to seeing the job completed; ``start`` from submitting
    to the last worker's function starting (the runner's Ray job, listing the inputs, reserving
    the nodes, starting the worker actors, downloading each share, starting Python);
    ``work`` the longest worker's function (``work_cpu`` the CPU seconds it got: less than
    ``work`` when other processes of the machine took its core); ``finish`` from the last
    worker's end to seeing the job completed (staging its outputs in S3, publishing them, the
    runner's exit).
    """
    processor = Processor(instance_count=instances, session=session, **kw)
    submitted = time.time()
    started = time.perf_counter()
    job = processor.run(
        count_words,
        inputs=[ProcessingInput(source, input_name="shards", distribution="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name="counts")],
        arguments=["--rounds", str(rounds)],
        logs=False,
    )
    seconds = time.perf_counter() - started
    completed = submitted + seconds
    key = session.key_for(job.outputs["counts"])
    parts = [json.loads(session.storage.read_bytes(i.key)) for i in session.storage.list(key)]
    return {
        "seconds": seconds,
        "start": max(p["started"] for p in parts) - submitted,
        "work": max(p["ended"] - p["started"] for p in parts),
        "finish": completed - max(p["ended"] for p in parts),
        "work_cpu": max(p["cpu"] for p in parts),
        "nodes": len({p["node"] for p in parts}),
        "files": sorted(f for p in parts for f in p["files"]),
        "words": sum(p["words"] for p in parts),
        "bigrams": sum(p["bigrams"] for p in parts),
    }


def measure(
    session: Session | None = None,
    *,
    shards: int = 8,
    rows: int = 4000,
    rounds: int = 1600,
    instance_type: str = "local",
    warmup: bool = True,
    repeat: int = 1,
) -> dict[str, Any]:
    """Time the same sharded job on 1 and on 2 instances; return the figures (a JSON dict).

    With ``warmup``, a one-round 2-instance job runs first, untimed, so that neither timed job
    pays for the cluster's first start of its worker processes. With ``repeat`` > 1 each
    configuration runs that many times (interleaved) and its fastest run counts: on a machine
    that other work shares, the fastest run is the one least disturbed.
    """
    kw = {"instance_type": instance_type}
    session = session or Session()
    source = make_shards(session, f"bench/scaleout-processing/{time.time_ns()}", shards, rows)
    if warmup:  # a fresh cluster's first job also starts Ray's worker processes on each node
        time_job(session, 2, source, 1, instance_type=instance_type)
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeat):  # interleaved, so that a busy spell of the machine hits both
        for instances in (1, 2):
            runs[instances].append(time_job(session, instances, source, rounds, **kw))
    one, two = (min(runs[n], key=lambda r: float(r["seconds"])) for n in (1, 2))
    for run in [*runs[1], *runs[2]]:
        if (run["files"], run["words"], run["bigrams"]) != (
            one["files"],
            one["words"],
            one["bigrams"],
        ):
            raise AssertionError(f"the runs disagree: {one} vs {run}")
    figures: dict[str, Any] = {
        "compute": session.settings.compute,
        "shards": shards,
        "rows": rows,
        "rounds": rounds,
        "warmup": warmup,
        "repeat": repeat,
    }
    for label, run in (("instances_1", one), ("instances_2", two)):
        figures[f"{label}_s"] = round(run["seconds"], 2)
        figures[f"{label}_parts_s"] = {
            k: round(run[k], 2) for k in ("start", "work", "work_cpu", "finish")
        }
        figures[f"{label}_nodes"] = run["nodes"]
    figures["speedup_2_over_1"] = round(one["seconds"] / two["seconds"], 2)
    figures["work_speedup_2_over_1"] = round(one["work"] / two["work"], 2)
    return figures


def main() -> None:
    """Parse the options, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--compute",
        metavar="URI",
        help="compute backend (ray://HEAD:8265, local); default: start a two-node cluster",
    )
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=1600, help="passes over each shard")
    parser.add_argument("--instance-type", default="local")
    parser.add_argument(
        "--no-warmup", dest="warmup", action="store_false", help="time the first job cold"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest counts")
    args = parser.parse_args()
    options = {
        "shards": args.shards,
        "rows": args.rows,
        "rounds": args.rounds,
        "instance_type": args.instance_type,
        "warmup": args.warmup,
        "repeat": args.repeat,
    }
    from _cluster import cluster_profile

    with contextlib.ExitStack() as stack:
        if args.compute:
            os.environ["SAGEBOX_COMPUTE"] = args.compute
        else:
            os.environ.update(stack.enter_context(cluster_profile()))
        session = Session()
        if session.settings.storage_uri.startswith("s3://"):
            session.storage.ensure_bucket()  # type: ignore[attr-defined]
        figures = measure(session, **options)
    print(json.dumps({"processing_scaleout": figures}))


if __name__ == "__main__":
    main()
