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
    mapper = session.compute.batch_mapper()
    if mapper is not None:  # a cluster: the backend's data engine spreads the workers
        ctx.log(
            f"transforming {len(keys)} file(s) on an actor pool of {config.instance_count} "
            f"worker(s) ({config.instance_type} each)"
        )
        totals = _run_on_pool(ctx, config, mapper, keys, payload)
        for name, value in totals.items():
            ctx.log_metric(name, value)
        return
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


class _File:
    """One input file split into records and request bodies (``batches``)."""

    def __init__(
        self, ctx: Any, config: TransformConfig, key: str, number: int, payload: int
    ) -> None:
        from sagebox.serving._transform.records import JsonPath, mini_batches, read_records

        self.key = key
        local = ctx.session.storage.download(
            key, ctx.workdir / "input" / f"{number}-{Path(key).name}"
        )
        self.content_type = config.content_type or _TYPES.get(local.suffix.lower(), "text/plain")
        self.header, self.records = read_records(
            local, self.content_type, config.split_type, config.header
        )
        in_filter = JsonPath(config.input_filter)
        parts = [in_filter.apply(r) for r in self.records]
        per_request = (
            1 if config.batch_strategy == "SingleRecord" else config.max_records_per_request
        )
        self.batches = list(mini_batches(parts, self.content_type, payload, per_request))
        self.predictions: list[Any] = [None] * len(parts)

    def answered(self, start: int, end: int, status: int, answer: bytes) -> None:
        """Keep the predictions of records ``start:end`` from the model's answer."""
        if status >= 400:
            raise JobError(
                f"records {start}-{end - 1} of {self.key}: HTTP {status}: "
                f"{answer[:300].decode('utf-8', 'replace')}",
                hint="fix the input (or its filter) and run the job again",
            )
        lines = [json.loads(line) for line in answer.decode("utf-8").splitlines() if line]
        if len(lines) != end - start:
            raise JobError(
                f"the model answered {len(lines)} lines for {end - start} records",
                hint="output_fn must answer one line per record for MultiRecord",
            )
        self.predictions[start:end] = lines

    def write(self, ctx: Any, config: TransformConfig) -> tuple[int, int]:
        """Assemble and upload ``{output}/{file name}.out``; ``(records, requests)``."""
        from sagebox.serving._transform.records import JsonPath, join, write_output

        key, content_type, predictions = self.key, self.content_type, self.predictions
        out_filter = JsonPath(config.output_filter)
        joined = config.join_source == "Input"
        rows = [
            out_filter.apply(join(r, p, content_type) if joined else p)
            for r, p in zip(self.records, predictions, strict=True)
        ]
        out_header = None
        if self.header is not None and content_type == "text/csv":
            out_header = _output_header(self.header, predictions, joined, config.output_filter)
        out_path = ctx.workdir / "output" / f"{Path(key).name}.out"
        kind = content_type if content_type == "text/csv" else "json"
        write_output(out_path, rows, kind, out_header)
        out_key = f"{ctx.session.key_for(config.output).rstrip('/')}/{Path(key).name}.out"
        ctx.put_output(Path(key).name, out_path, out_key, kind="dataset")
        ctx.log(f"{key}: {len(self.records)} records in {len(self.batches)} requests -> {out_key}")
        return len(self.records), len(self.batches)


async def _transform_file(
    ctx: Any, config: TransformConfig, variant: Any, key: str, number: int, payload: int
) -> tuple[int, int]:
    from sagebox.serving._control.dispatch import forward

    file = _File(ctx, config, key, number, payload)
    content_type = file.content_type
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
        file.answered(start, end, status, answer)

    await asyncio.gather(*(send(*batch) for batch in file.batches))
    return file.write(ctx, config)


def _run_on_pool(
    ctx: Any, config: TransformConfig, mapper: Any, keys: list[str], payload: int
) -> dict[str, float]:
    """Every file's requests through the backend's worker pool in one go, then the outputs.

    The pool holds ``instance_count`` workers, each loading the model package once; the
    answers are the same bytes a local worker gives, and each output is assembled by the
    same code as the local path's, so the outputs are the same.
    """
    from sagebox.jobs.instances import resources_for
    from sagebox.serving._transform.pool import WorkerFactory, decode_answer, encode_request

    started = time.perf_counter()
    files = [_File(ctx, config, key, number, payload) for number, key in enumerate(keys)]
    payloads = [
        encode_request(file.content_type, body) for file in files for _, _, body in file.batches
    ]
    factory = WorkerFactory(ctx.session.settings, config.model, payload + 2**20)
    resources = resources_for(config.instance_type)
    answers = iter(mapper.map(payloads, factory, config.instance_count, resources))
    for file in files:
        for start, end, _ in file.batches:
            file.answered(start, end, *decode_answer(next(answers)))
    records = requests = 0
    for file in files:
        done = file.write(ctx, config)
        records += done[0]
        requests += done[1]
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "requests": requests,
        "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds, 1) if seconds else 0.0,
    }


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
