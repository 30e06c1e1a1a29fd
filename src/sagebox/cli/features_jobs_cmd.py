"""``sagebox features training-set`` and ``sagebox features engineer``."""

from __future__ import annotations

from typing import Any

import typer

from sagebox.cli._frames import read_frame
from sagebox.cli._output import JsonOption, console, print_json


def training_set(
    entities: str = typer.Option(
        ..., "--entities", help="File or lake location of entity rows (id, time, labels...)."
    ),
    group: list[str] = typer.Option(..., "--group", "-g", help="Feature group (repeatable)."),
    feature: list[str] = typer.Option(
        [], "--feature", "-f", help="GROUP:FEATURE to take (repeatable; default all)."
    ),
    id_column: str | None = typer.Option(None, "--id-column", help="Entities' id column."),
    time_column: str | None = typer.Option(None, "--time-column", help="Entities' time column."),
    out: str = typer.Option(..., "--out", help="Lake key or URI of the Parquet to write."),
    json_output: bool = JsonOption,
) -> None:
    """Build a point-in-time correct training set and write it to the lake as Parquet."""
    from sagebox import lake
    from sagebox.errors import InputDataError
    from sagebox.features import FeatureStore

    chosen: dict[str, list[str]] = {}
    for item in feature:
        name, sep, feat = item.partition(":")
        if not sep or not feat:
            raise InputDataError(f"bad --feature {item!r}", hint="write GROUP:FEATURE")
        chosen.setdefault(name, []).append(feat)
    frame = read_frame(entities)
    with console.status("joining features as of each entity's time"):
        result = FeatureStore().training_set(
            frame,
            list(group),
            features=chosen or None,
            entity_id=id_column,
            entity_time=time_column,
        )
    target = out if out.endswith(".parquet") else out.rstrip("/") + "/training-set.parquet"
    written = lake.to_parquet(result, target, mode="overwrite")
    added = [c for c in result.columns if c not in frame.columns]
    matched = int(result[added].notna().any(axis=1).sum()) if added else 0
    summary = {
        "uri": written.uri,
        "rows": len(result),
        "with_features": matched,
        "columns": list(map(str, result.columns)),
    }
    if json_output:
        print_json(summary)
        return
    console.print(
        f"wrote {len(result)} rows ({matched} with features) to {written.uri}", highlight=False
    )


def engineer(
    table: str | None = typer.Option(None, "--table", help="Raw reviews catalog table."),
    raw: str | None = typer.Option(None, "--raw", help="Lake key of a raw review CSV/Parquet."),
    instance_count: int = typer.Option(1, "--instance-count", min=1, help="Parallel workers."),
    max_seq_length: int = typer.Option(128, "--max-seq-length", min=2, help="Tokens per review."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Local checkpoint dir."),
    feature_group: str | None = typer.Option(
        None, "--feature-group", help="Also ingest into this feature group (created if missing)."
    ),
    online: bool = typer.Option(True, "--online/--no-online", help="Online store if created."),
    balance: bool = typer.Option(True, "--balance/--no-balance", help="Balance the classes."),
    train: float = typer.Option(0.9, "--train", help="Training fraction."),
    validation: float = typer.Option(0.05, "--validation", help="Validation fraction."),
    test: float = typer.Option(0.05, "--test", help="Test fraction."),
    seed: int = typer.Option(0, "--seed", help="Seed of balancing and splitting."),
    shard_rows: int = typer.Option(2000, "--shard-rows", min=1, help="Rows per shard."),
    event_time: str | None = typer.Option(None, "--event-time", help="ISO-8601 event time."),
    output: str | None = typer.Option(None, "--output", help="Lake prefix of the splits."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the job to end."),
    json_output: bool = JsonOption,
) -> None:
    """Run the review feature-engineering job (labels, balance, split, tokenize)."""
    from sagebox.backends.metadata.base import JobStatus
    from sagebox.errors import InputDataError
    from sagebox.jobs import JobClient

    if (table is None) == (raw is None):
        raise InputDataError(
            "give exactly one of --table or --raw", hint="e.g. --table reviews.raw"
        )
    parameters: dict[str, Any] = {
        "instance_count": instance_count,
        "max_seq_length": max_seq_length,
        "tokenizer": tokenizer,
        "feature_group": feature_group,
        "online": online,
        "balance": balance,
        "train": train,
        "validation": validation,
        "test": test,
        "seed": seed,
        "shard_rows": shard_rows,
        "event_time": event_time,
        "output": output,
        "table": table,
    }
    jobs = JobClient()
    job = jobs.submit(
        "review-features",
        parameters={k: v for k, v in parameters.items() if v is not None},
        inputs={"raw": raw} if raw else {},
    )
    if wait:
        with console.status(f"running {job.name} on {instance_count} worker(s)"):
            job = jobs.wait(job.name)
    if json_output:
        print_json(job)
    else:
        reason = f" ({job.failure_reason})" if job.failure_reason else ""
        console.print(f"{job.name}: {job.status.value}{reason}", highlight=False)
        for name, uri in job.outputs.items():
            console.print(f"  {name}: {uri}", highlight=False, soft_wrap=True)
    if wait and job.status is not JobStatus.COMPLETED:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``features`` group."""
    app.command("training-set")(training_set)
    app.command("engineer")(engineer)
