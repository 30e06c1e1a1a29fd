"""Scaling of a sharded processing job over 1 vs 2 instances (nodes on a Ray cluster).

The job: reviews (``sagebox datasets synth``, fixed seed) split into ``--shards`` CSV shards in
the lake, a ``ShardedByKey`` input, and a pure-Python, CPU-bound function per shard (word and
bigram counts over the review texts, ``--rounds`` times: a few seconds per shard). Each worker
writes its counts; the two runs must give the same totals. The figure is the ratio of the
wall times (job submitted to job completed) of ``instance_count=1`` and ``instance_count=2``.

On a Ray cluster (``SAGEBOX_COMPUTE=ray://...`` with an S3 lake and PostgreSQL) each instance
is a node task on its own node; give each node 1 CPU (``ray start --num-cpus 1``) and
``--instance-type local`` (1 CPU per instance) so that one node's worker gets one core. On the
local backend the instances are processes on this machine.

Usage: ``python bench/bench_scaleout_processing.py [--shards 8] [--rounds 60]``; prints one
JSON line. The lead's ``bench/bench_scaleout.py`` imports :func:`measure`.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from typing import Any

from sagebox.processing import ProcessingEnvironment, ProcessingInput, ProcessingOutput, Processor
from sagebox.session import Session

__all__ = ["count_words", "make_shards", "measure", "time_job"]


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
    result = {"files": [p.name for p in files], "words": sum(words.values()), "bigrams": bigrams}
    (env.outputs["counts"] / f"{env.host}.json").write_text(json.dumps(result))


def time_job(session: Session, instances: int, source: str, rounds: int, **kw: Any) -> dict:
    """Run the job on ``instances`` instances; return wall seconds and the summed counts."""
    processor = Processor(instance_count=instances, session=session, **kw)
    started = time.perf_counter()
    job = processor.run(
        count_words,
        inputs=[ProcessingInput(source, input_name="shards", distribution="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name="counts")],
        arguments=["--rounds", str(rounds)],
        logs=False,
    )
    seconds = time.perf_counter() - started
    key = session.key_for(job.outputs["counts"])
    parts = [json.loads(session.storage.read_bytes(i.key)) for i in session.storage.list(key)]
    return {
        "seconds": seconds,
        "files": sorted(f for p in parts for f in p["files"]),
        "words": sum(p["words"] for p in parts),
        "bigrams": sum(p["bigrams"] for p in parts),
    }


def measure(
    session: Session | None = None,
    *,
    shards: int = 8,
    rows: int = 4000,
    rounds: int = 60,
    instance_type: str = "local",
) -> dict[str, Any]:
    """Time the same sharded job on 1 and on 2 instances; return the figures (a JSON dict)."""
    session = session or Session()
    source = make_shards(session, f"bench/scaleout-processing/{time.time_ns()}", shards, rows)
    one = time_job(session, 1, source, rounds, instance_type=instance_type)
    two = time_job(session, 2, source, rounds, instance_type=instance_type)
    if (one["files"], one["words"], one["bigrams"]) != (two["files"], two["words"], two["bigrams"]):
        raise AssertionError(f"1 and 2 instances disagree: {one} vs {two}")
    return {
        "compute": session.settings.compute,
        "shards": shards,
        "rows": rows,
        "rounds": rounds,
        "instances_1_s": round(one["seconds"], 2),
        "instances_2_s": round(two["seconds"], 2),
        "speedup_2_over_1": round(one["seconds"] / two["seconds"], 2),
    }


def main() -> None:
    """Parse the options, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--instance-type", default="local")
    args = parser.parse_args()
    figures = measure(
        shards=args.shards, rows=args.rows, rounds=args.rounds, instance_type=args.instance_type
    )
    print(json.dumps({"processing_scaleout": figures}))


if __name__ == "__main__":
    main()
