"""Map payloads over a pool of Ray actors with Ray Data (``Dataset.map_batches``).

:class:`RayDataMapper` is the Ray backend's :class:`~sagebox.backends.compute.base.BatchMapper`:
the payloads become a Ray dataset, ``map_batches`` runs them through an actor pool of
``workers`` actors (each holding ``resources``: CPUs, memory, GPUs), each actor builds its
predictor once from the picklable factory (it loads a model package, say) and answers one
payload per call; the answers come back to the caller in payload order.

The caller is a process inside the cluster (a job runner submitted through Ray Jobs:
``ray.init()`` joins the cluster through ``RAY_ADDRESS``), or any process that already called
``ray.init`` (the tests).

Example:
    >>> mapper = RayDataMapper()  # doctest: +SKIP
    >>> mapper.map([b"a", b"b"], lambda: bytes.upper, 2, Resources(cpus=1))  # doctest: +SKIP
    [b'A', b'B']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sagebox.backends.compute.base import BatchMapper, Predictor, Resources
from sagebox.errors import JobError, SageboxError

__all__ = ["RayDataMapper", "map_on_actor_pool"]

#: dataset blocks per actor: enough that a slow actor does not hold the tail alone
BLOCKS_PER_WORKER = 4
#: how long the whole pool may take to start (placed and its predictors built) by default
START_TIMEOUT_S = 300.0


class RayDataMapper(BatchMapper):
    """Ray Data's ``map_batches`` over an actor pool, joined to the cluster of this process.

    Args:
        address: passed to ``ray.init`` when this process is not connected yet (None: the
            cluster named by ``RAY_ADDRESS``, or the one on this node).
    """

    def __init__(self, address: str | None = None, start_timeout: float = START_TIMEOUT_S) -> None:
        self.address = address
        self.start_timeout = start_timeout

    def map(
        self,
        payloads: Sequence[bytes],
        factory: Callable[[], Predictor],
        workers: int,
        resources: Resources,
    ) -> list[bytes]:
        """See :meth:`BatchMapper.map`."""
        return map_on_actor_pool(
            payloads, factory, workers, resources, self.address, self.start_timeout
        )


class _PoolActor:
    """One actor of the pool: builds the predictor once, then answers batches of payloads."""

    def __init__(self, factory: Callable[[], Predictor]) -> None:
        self.predict = factory()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        answers = [self.predict(bytes(p)) for p in batch["payload"]]
        result = np.empty(len(answers), dtype=object)
        result[:] = answers
        return {"index": batch["index"], "answer": result}


def map_on_actor_pool(
    payloads: Sequence[bytes],
    factory: Callable[[], Predictor],
    workers: int,
    resources: Resources,
    address: str | None = None,
    start_timeout: float = START_TIMEOUT_S,
) -> list[bytes]:
    """``[predictor(p) for p in payloads]`` on an actor pool of ``workers`` Ray actors.

    The pool must be up (every actor placed and its predictor built) within
    ``start_timeout`` seconds: a cluster without the capacity fails the call, it does not
    wait silently.

    Raises:
        SageboxError: the first one an actor raised (in ``factory()`` or the predictor).
        JobError: if the pool did not start in time, or failed otherwise (an actor died, the
            cluster lost a node).
    """
    from sagebox._extras import require

    require("ray", needed_by="batch transform on a Ray cluster")
    import ray
    import ray.data

    if not payloads:
        return []
    if workers < 1:
        raise JobError(f"an actor pool of {workers} workers", hint="ask for 1 worker or more")
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.raise_original_map_exception = True  # a worker's SageboxError reaches the caller
    context.wait_for_min_actors_s = max(1, int(start_timeout))  # and a failed start fails now
    answers = _run_pool(payloads, factory, workers, resources)
    if isinstance(answers, BaseException):
        # raised here, with no traceback into the finished execution: an error kept alive by
        # the caller must not keep the pool's actors (and the CPUs they hold) alive with it
        if isinstance(answers, ray.exceptions.GetTimeoutError):
            raise JobError(
                f"the actor pool of {workers} x {_describe(resources)} did not start within "
                f"{start_timeout:g} s; the cluster has "
                f"{_describe_cluster(ray.cluster_resources())}",
                hint="add nodes (or free capacity), or ask for fewer or smaller instances",
            ) from None
        raise answers
    missing = [i for i, a in enumerate(answers) if a is None]
    if missing:
        raise JobError(
            f"the actor pool answered {len(answers) - len(missing)} of {len(answers)} payloads "
            f"(first missing: {missing[0]})",
            hint="see the Ray dashboard for lost actors and run the job again",
        )
    return [a for a in answers if a is not None]


def _run_pool(
    payloads: Sequence[bytes],
    factory: Callable[[], Predictor],
    workers: int,
    resources: Resources,
) -> list[bytes | None] | BaseException:
    """The answers (None where one is missing), or the error to raise (not raised here)."""
    import ray
    import ray.data

    items = [{"index": i, "payload": bytes(p)} for i, p in enumerate(payloads)]
    dataset = ray.data.from_items(
        items, override_num_blocks=min(len(items), workers * BLOCKS_PER_WORKER)
    )
    mapped = dataset.map_batches(
        _PoolActor,
        fn_constructor_args=(factory,),
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_size=1,
        batch_format="numpy",
        num_cpus=resources.cpus,
        num_gpus=resources.gpus or None,
        memory=resources.memory_bytes or None,
    )
    answers: list[bytes | None] = [None] * len(items)
    try:
        for row in mapped.iter_rows():
            answers[int(row["index"])] = bytes(row["answer"])
    except ray.exceptions.GetTimeoutError:
        return ray.exceptions.GetTimeoutError()
    except Exception as exc:  # noqa: BLE001 - a worker's error, unwrapped here
        error = _worker_error(exc)
        error.__traceback__ = error.__cause__ = error.__context__ = None
        return error
    return answers


def _worker_error(exc: BaseException) -> SageboxError:
    """The SageboxError a worker raised (anywhere in the cause chain), else a JobError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)  # RayTaskError keeps the worker's exception
        if isinstance(cause, SageboxError):
            return cause
        if isinstance(current, SageboxError):
            return current
        current = cause if isinstance(cause, BaseException) else current.__cause__
    first = str(exc).strip().splitlines()
    return JobError(
        f"the actor pool failed: {type(exc).__name__}: {first[-1] if first else ''}"[:500],
        hint="see the job log and the Ray dashboard for the failed actor",
    )


def _describe(resources: Resources) -> str:
    parts = [f"{resources.cpus:g} CPU"]
    if resources.gpus:
        parts.append(f"{resources.gpus:g} GPU")
    if resources.memory_bytes:
        parts.append(f"{resources.memory_bytes / 2**30:.1f} GiB")
    return "(" + ", ".join(parts) + ")"


def _describe_cluster(total: dict[str, float]) -> str:
    gib = total.get("memory", 0.0) / 2**30
    return f"{total.get('CPU', 0):g} CPU, {total.get('GPU', 0):g} GPU, {gib:.1f} GiB in all"
