"""The review-preparation job: raw reviews in the lake → balanced train/validation/test sets."""

from __future__ import annotations

from sagebox.jobs.context import JobContext

__all__ = ["run_prepare_job"]

SPLITS = ("train", "validation", "test")


def run_prepare_job(ctx: JobContext) -> None:
    """Query the raw reviews with SQL, apply the course transformation, balance and split.

    Inputs: ``raw`` (a Parquet key). Parameters: ``balance`` (bool), ``train``/``validation``/
    ``test`` fractions, ``seed``. Outputs: one Parquet file per split, plus the category summary.
    """
    from sagebox.datasets import balance_classes, split_dataset, to_sentiment
    from sagebox.sql import query

    params = ctx.parameters
    raw_key = ctx.session.key_for(ctx.job.inputs["raw"])
    raw = query(
        ctx.session.storage, 'SELECT * FROM raw WHERE "Review Text" IS NOT NULL', {"raw": raw_key}
    )
    ctx.log(f"read {len(raw)} raw reviews with text via SQL")
    ctx.log_metric("raw_rows", len(raw))
    reviews = to_sentiment(raw)
    if params.get("balance", True):
        reviews = balance_classes(reviews, seed=int(params.get("seed", 0)))
        ctx.log(f"balanced to {len(reviews)} reviews")
    parts = split_dataset(
        reviews,
        train=float(params.get("train", 0.9)),
        validation=float(params.get("validation", 0.05)),
        test=float(params.get("test", 0.05)),
        seed=int(params.get("seed", 0)),
    )
    for split, frame in zip(SPLITS, parts, strict=True):
        local = ctx.workdir / f"{split}.parquet"
        frame.to_parquet(local, index=False)
        ctx.put_output(split, local, ctx.output_key(f"{split}.parquet"), kind="dataset")
        ctx.log_metric(f"{split}_rows", len(frame))
