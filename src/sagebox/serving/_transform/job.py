"""The ``batch-transform`` job kind: score lake files with a registered model (job runner).

The job starts ``max_concurrent_transforms`` worker processes serving the same model package
an endpoint would, splits each input file into records (CSV rows, JSON lines, or the whole
file), applies the input filter, packs records into mini-batches up to ``max_payload_mb`` (or
one per request with ``SingleRecord``), sends them concurrently, and writes
``{output}/{file name}.out`` with one output line per input record, in input order,
optionally joined with the input record and passed through the output filter.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError, JobError
from sagebox.serving.config import TransformConfig
from sagebox.session import Session

__all__ = ["run_transform_job"]

_TYPES = {".csv": "text/csv", ".jsonl": "application/jsonlines", ".json": "application/jsonlines"}


def run_transform_job(ctx: Any) -> None:
    """The ``batch-transform`` job kind."""
    from sagebox.models import fetch_verified
    from sagebox.serving._control.instances import VariantRuntime
    from sagebox.serving.config import ProductionVariant, parse_config

    config = parse_config(TransformConfig, ctx.parameters["transform"], "transform config")
    session = ctx.session
    model_dir = fetch_verified(session, config.model, ctx.workdir / "model")
    keys = _input_keys(session, config.input)
    payload = int(config.max_payload_mb * 2**20)
    spec = {
        "steps": [{"model_dir": str(model_dir), "name": config.model}],
        "max_payload_bytes": payload + 2**20,
    }
    variant = VariantRuntime(
        ctx.job.name,
        ProductionVariant(
            name="transform", model=config.model, instance_count=config.max_concurrent_transforms
        ),
        "transform",
        spec,
        ctx.workdir,
        lambda kind, detail: ctx.log(f"{kind}: {detail}"),
    )
    ctx.log(f"transforming {len(keys)} file(s) with {config.max_concurrent_transforms} workers")
    totals = asyncio.run(_run(ctx, config, variant, keys, payload))
    for name, value in totals.items():
        ctx.log_metric(name, value)


async def _run(
    ctx: Any, config: TransformConfig, variant: Any, keys: list[str], payload: int
) -> dict[str, float]:
    await variant.start()
    records = requests = 0
    started = time.perf_counter()
    try:
        for number, key in enumerate(keys):
            done = await _transform_file(ctx, config, variant, key, number, payload)
            records += done[0]
            requests += done[1]
    finally:
        await variant.stop()
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "requests": requests,
        "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds, 1) if seconds else 0.0,
    }


async def _transform_file(
    ctx: Any, config: TransformConfig, variant: Any, key: str, number: int, payload: int
) -> tuple[int, int]:
    from sagebox.serving._control.dispatch import forward
    from sagebox.serving._transform.records import (
        JsonPath,
        join,
        mini_batches,
        read_records,
        write_output,
    )

    local = ctx.session.storage.download(key, ctx.workdir / "input" / f"{number}-{Path(key).name}")
    content_type = config.content_type or _TYPES.get(local.suffix.lower(), "text/plain")
    header, records = read_records(local, content_type, config.split_type, config.header)
    in_filter, out_filter = JsonPath(config.input_filter), JsonPath(config.output_filter)
    parts = [in_filter.apply(r) for r in records]
    per_request = 1 if config.batch_strategy == "SingleRecord" else config.max_records_per_request
    batches = list(mini_batches(parts, content_type, payload, per_request))
    predictions: list[Any] = [None] * len(parts)
    headers = [(b"content-type", content_type.encode()), (b"accept", b"application/jsonlines")]
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    gate = asyncio.Semaphore(2 * config.max_concurrent_transforms)

    async def send(start: int, end: int, body: bytes) -> None:
        async with gate:
            status, answer, _, _ = await forward(
                variant, body, headers, None, config.request_timeout_s, spawn
            )
        if status >= 400:
            raise JobError(
                f"records {start}-{end - 1} of {key}: HTTP {status}: "
                f"{answer[:300].decode('utf-8', 'replace')}",
                hint="fix the input (or its filter) and run the job again",
            )
        lines = [json.loads(line) for line in answer.decode("utf-8").splitlines() if line]
        if len(lines) != end - start:
            raise JobError(
                f"the model answered {len(lines)} lines for {end - start} records",
                hint="output_fn must answer one line per record for MultiRecord",
            )
        predictions[start:end] = lines

    await asyncio.gather(*(send(*batch) for batch in batches))
    joined = config.join_source == "Input"
    rows = [
        out_filter.apply(join(r, p, content_type) if joined else p)
        for r, p in zip(records, predictions, strict=True)
    ]
    out_header = None
    if header is not None and content_type == "text/csv":
        out_header = _output_header(header, predictions, joined, config.output_filter)
    out_path = ctx.workdir / "output" / f"{Path(key).name}.out"
    write_output(out_path, rows, content_type if content_type == "text/csv" else "json", out_header)
    out_key = f"{ctx.session.key_for(config.output).rstrip('/')}/{Path(key).name}.out"
    ctx.put_output(Path(key).name, out_path, out_key, kind="dataset")
    ctx.log(f"{key}: {len(records)} records in {len(batches)} requests -> {out_key}")
    return len(records), len(batches)


def _output_header(
    header: list[str], predictions: list[Any], joined: bool, output_filter: str
) -> list[str] | None:
    from sagebox.serving._transform.records import JsonPath, flatten

    columns = list(flatten(predictions[0]).keys()) if predictions else []
    full = [*header, *columns] if joined else columns
    return JsonPath(output_filter).apply(full) if output_filter != "$" else full


def _input_keys(session: Session, uri: str) -> list[str]:
    key = session.key_for(uri)
    if session.storage.exists(key):
        return [key]
    found = sorted(o.key for o in session.storage.list(key.rstrip("/") + "/"))
    if not found:
        raise InputDataError(f"no input at {uri}", hint="give a lake key of a file or a prefix")
    return found
