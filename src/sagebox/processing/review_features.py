"""The ``review-features`` job: the course's feature engineering, sharded across workers.

raw reviews → sentiment labels → balance by class → train/validation/test split by
percentages → tokenize ``review_body`` into ``input_ids`` and ``attention_mask`` of
``max_seq_length`` (all-MiniLM-L6-v2's tokenizer, or a local checkpoint's) → one Parquet
object per split in the lake → optionally, every row into a feature group.

Labelling, balancing and splitting are cheap and global (they need every row), so the job
does them itself; tokenizing is the expensive part and runs as a ``processing`` stage on
``instance_count`` workers. The rows are cut into shards of ``shard_rows`` whatever the
number of workers, the workers get whole shards (``ShardedByKey``) and the job reassembles
the shards in order, so the output is the same, byte for byte, for 1 or N workers.

Parameters: ``table``/``partition`` or input ``raw`` (see ``prepare-reviews``), ``balance``,
``train``/``validation``/``test``, ``seed``, ``max_seq_length`` (128), ``tokenizer`` (a
local checkpoint dir), ``instance_count``, ``threads_per_worker`` (default: cores divided
among the workers), ``shard_rows`` (2000), ``event_time`` (ISO-8601;
default: the job's start), ``output`` (lake prefix), ``feature_group`` (name; created if
missing), ``online`` (whether a created group gets an online store).
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError
from sagebox.jobs.context import JobContext

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.processing.spec import ProcessingEnvironment

__all__ = ["feature_definitions", "run_review_features_job", "tokenize_shards"]

SPLITS = ("train", "validation", "test")
RECORD_ID = "review_id"
EVENT_TIME = "date"


def run_review_features_job(ctx: JobContext) -> None:
    """Label, balance, split, tokenize (on workers) and store the reviews."""
    import pandas as pd

    from sagebox.datasets import balance_classes, split_dataset, to_sentiment
    from sagebox.processing.job import run_processing
    from sagebox.processing.reviews import read_raw_reviews_of_job
    from sagebox.processing.tokenize import DEFAULT_MAX_SEQ_LENGTH, ReviewTokenizer

    params = ctx.parameters
    seed = int(params.get("seed", 0))
    max_len = int(params.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH))
    tokenizer = params.get("tokenizer") or None
    ReviewTokenizer(tokenizer, max_len)  # fail here, not in every worker, on a bad choice
    shard_rows = int(params.get("shard_rows", 2000))
    if shard_rows < 1:
        raise InputDataError(f"shard_rows must be >= 1, got {shard_rows}", hint="e.g. 2000")
    event_time = str(params.get("event_time") or _iso(ctx.job.created_at or datetime.now(UTC)))
    reviews = to_sentiment(read_raw_reviews_of_job(ctx))
    if params.get("balance", True):
        reviews = balance_classes(reviews, seed=seed)
        ctx.log(f"balanced to {len(reviews)} reviews")
    parts = split_dataset(
        reviews,
        train=float(params.get("train", 0.9)),
        validation=float(params.get("validation", 0.05)),
        test=float(params.get("test", 0.05)),
        seed=seed,
    )
    rows = pd.concat(
        [p.assign(split_type=name) for name, p in zip(SPLITS, parts, strict=True)],
        ignore_index=True,
    )
    rows = rows.assign(label_id=rows["sentiment"] + 1, **{EVENT_TIME: event_time})
    shards_key = f"jobs/{ctx.job.name}/shards"
    for n, start in enumerate(range(0, len(rows), shard_rows)):
        ctx.session.storage.write_bytes(
            f"{shards_key}/shard-{n:05d}.parquet", _parquet(rows.iloc[start : start + shard_rows])
        )
    instances = int(params.get("instance_count", 1))
    started = time.perf_counter()
    outputs = run_processing(
        ctx,
        code={"callable": "sagebox.processing.review_features:tokenize_shards"},
        inputs=[
            {
                "input_name": "shards",
                "source": shards_key + "/",
                "destination": "/opt/ml/processing/input/shards",
                "distribution": "ShardedByKey",
            }
        ],
        outputs=[
            {
                "output_name": "tokens",
                "source": "/opt/ml/processing/output/tokens",
                "destination": f"jobs/{ctx.job.name}/tokens/",
                "upload_mode": "EndOfJob",
            }
        ],
        arguments=[
            "--max-seq-length",
            str(max_len),
            *(["--tokenizer", tokenizer] if tokenizer else []),
        ],
        instance_count=instances,
        environment=_thread_limits(params.get("threads_per_worker")),
    )
    seconds = time.perf_counter() - started
    ctx.log_metric("tokenize_seconds", seconds)
    ctx.log_metric("reviews_per_second", len(rows) / seconds if seconds else 0.0)
    features = _read_tokens(ctx, outputs["tokens"])
    _write_splits(ctx, features, params.get("output"))
    if params.get("feature_group"):
        _ingest(ctx, features, str(params["feature_group"]), bool(params.get("online", True)))


def _thread_limits(threads: Any) -> dict[str, str]:
    """Environment pinning each worker's thread pools (default: cores / workers)."""
    if threads in (None, ""):
        return {}
    if int(threads) < 1:
        raise InputDataError(
            f"threads_per_worker must be >= 1, got {threads}", hint="e.g. threads_per_worker=1"
        )
    value = str(int(threads))
    return {"RAYON_NUM_THREADS": value, "OMP_NUM_THREADS": value, "MKL_NUM_THREADS": value}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def tokenize_shards(env: ProcessingEnvironment) -> None:
    """The worker: tokenize each of this worker's shards into the ``tokens`` output."""
    import argparse

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sagebox.processing.tokenize import ReviewTokenizer, vector_array

    parser = argparse.ArgumentParser()
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--tokenizer", default=None)
    args = parser.parse_args(env.arguments)
    tokenizer = ReviewTokenizer(args.tokenizer, args.max_seq_length)
    shards = sorted(env.inputs["shards"].glob("*.parquet"))
    done, started = 0, time.perf_counter()
    for shard in shards:
        frame = pd.read_parquet(shard)
        ids, mask = tokenizer.encode(frame["review_body"].tolist())
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.append_column("input_ids", vector_array(ids))
        table = table.append_column("attention_mask", vector_array(mask))
        pq.write_table(table, env.outputs["tokens"] / shard.name)
        done += len(frame)
    seconds = time.perf_counter() - started
    rate = done / seconds if seconds else 0.0
    print(f"{env.host}: tokenized {done} reviews in {len(shards)} shard(s), {rate:.0f} reviews/s")


def _read_tokens(ctx: JobContext, uri: str) -> pd.DataFrame:
    """The tokenized shards, in shard order (the same whatever the number of workers)."""
    import pandas as pd

    storage = ctx.session.storage
    prefix = ctx.session.key_for(uri).rstrip("/") + "/"
    keys = sorted(i.key for i in storage.list(prefix) if i.key.endswith(".parquet"))
    frames = [pd.read_parquet(io.BytesIO(storage.read_bytes(k))) for k in keys]
    return pd.concat(frames, ignore_index=True)


def _write_splits(ctx: JobContext, features: pd.DataFrame, output: Any) -> None:
    prefix = ctx.session.key_for(str(output)).rstrip("/") if output else None
    for split in SPLITS:
        part = features[features["split_type"] == split].reset_index(drop=True)
        local = ctx.workdir / f"{split}.parquet"
        part.to_parquet(local, index=False)
        key = f"{prefix}/{split}.parquet" if prefix else ctx.output_key(f"{split}.parquet")
        ctx.put_output(split, local, key, kind="dataset")
        ctx.log_metric(f"{split}_rows", len(part))


def feature_definitions(max_seq_length: int) -> list[Any]:
    """The feature definitions of the engineered reviews."""
    from sagebox.features.definitions import CollectionType, FeatureDefinition, FeatureType

    integral, string = FeatureType.INTEGRAL, FeatureType.STRING
    return [
        FeatureDefinition(RECORD_ID, integral),
        FeatureDefinition(EVENT_TIME, string),
        FeatureDefinition("sentiment", integral),
        FeatureDefinition("label_id", integral),
        FeatureDefinition("review_body", string),
        FeatureDefinition("product_category", string),
        FeatureDefinition("split_type", string),
        FeatureDefinition("input_ids", integral, CollectionType.VECTOR, max_seq_length),
        FeatureDefinition("attention_mask", integral, CollectionType.VECTOR, max_seq_length),
    ]


def _ingest(ctx: JobContext, features: pd.DataFrame, name: str, online: bool) -> None:
    from sagebox.features.group import FeatureGroup

    width = len(features["input_ids"].iloc[0]) if len(features) else 128
    group = FeatureGroup(name, session=ctx.session)
    if not group.exists():
        group.feature_definitions = feature_definitions(width)
        group.create(
            RECORD_ID,
            EVENT_TIME,
            enable_online_store=online,
            description="product reviews: sentiment labels, splits and BERT input ids "
            "(review-features job)",
            tags={"source": "review-features", "tokenizer_max_seq_length": str(width)},
        )
        ctx.log(f"created feature group {name}")
    columns = [d.name for d in group.describe().features]
    result = group.ingest(
        features[[c for c in columns if c in features.columns]],
        max_workers=max(1, int(ctx.parameters.get("instance_count", 1))),
    )
    ctx.log(
        f"ingested {result.rows} records into feature group {name} in {result.seconds:.1f} s "
        f"({result.online_written} online)"
    )
    ctx.log_metric("ingested_records", result.rows)
    ctx.job = ctx.session.metadata.update_job(
        ctx.job.name,
        outputs={**ctx.session.metadata.get_job(ctx.job.name).outputs, "feature_group": name},
    )
