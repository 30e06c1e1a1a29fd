"""The review-preparation job: raw reviews in the lake → balanced train/validation/test sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagebox.jobs.context import JobContext

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_raw_reviews_of_job", "run_prepare_job"]

SPLITS = ("train", "validation", "test")


def _query_table(ctx: JobContext, table: str, partition: dict[str, object]) -> pd.DataFrame:
    """The raw reviews with text, by table name (partition pruning narrows the files read)."""
    from sagebox.catalog import split_table_name
    from sagebox.sql import SqlEngine, quote_identifier

    database, name = split_table_name(table)
    where = ['"Review Text" IS NOT NULL']
    where += [f"{quote_identifier(k)} = {_literal(v)}" for k, v in partition.items()]
    sql = (
        f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(name)} "
        f"WHERE {' AND '.join(where)}"
    )
    result = SqlEngine(ctx.session).execute(sql)
    pruned = (
        f" (partition {partition}: DuckDB skips the other partitions' files)" if partition else ""
    )
    ctx.log(f"SQL on {table}: {result.rows} rows{pruned}")
    return result.to_pandas()


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def read_raw_reviews_of_job(ctx: JobContext) -> pd.DataFrame:
    """The job's raw reviews with text: catalog table ``table`` (optionally narrowed to one
    ``partition``), or else the CSV/Parquet object of input ``raw``, read with SQL.

    Raises:
        InputDataError: neither is given, or the data cannot be read.
    """
    from sagebox.errors import InputDataError

    params = ctx.parameters
    if params.get("table"):
        raw = _query_table(ctx, str(params["table"]), dict(params.get("partition") or {}))
    elif "raw" in ctx.job.inputs:
        from sagebox.sql import query

        raw_key = ctx.session.key_for(ctx.job.inputs["raw"])
        raw = query(
            ctx.session.storage,
            'SELECT * FROM raw WHERE "Review Text" IS NOT NULL',
            {"raw": raw_key},
        )
    else:
        raise InputDataError(
            "the job has neither a raw-review table nor a 'raw' input",
            hint="give table=database.table or the input raw=<lake key of the raw reviews>",
        )
    ctx.log(f"read {len(raw)} raw reviews with text via SQL")
    return raw


def run_prepare_job(ctx: JobContext) -> None:
    """Query the raw reviews with SQL, apply the course transformation, balance and split.

    The raw reviews are a catalog table (parameter ``table``, e.g. ``reviews.raw``, optionally
    narrowed to one partition with ``partition``, e.g. ``{"run_id": "..."}``), or, without
    ``table``, the Parquet object of input ``raw``. Parameters: ``balance`` (bool),
    ``train``/``validation``/``test`` fractions, ``seed``. Outputs: one Parquet file per split.
    """
    from sagebox.datasets import balance_classes, split_dataset, to_sentiment

    params = ctx.parameters
    raw = read_raw_reviews_of_job(ctx)
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
