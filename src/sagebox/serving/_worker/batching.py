"""Server-side dynamic batching: concurrent requests share one ``predict_fn`` call.

Requests are decoded on arrival; their records wait in a queue until ``max_batch_size`` records
are there or ``max_delay_ms`` has passed since the first, then one ``predict_fn`` runs on all
of them on the batcher's own thread (so the event loop keeps accepting requests meanwhile) and
each request gets its own slice of the answer. While one batch runs the next one fills, so
under load the batches grow by themselves even with a zero delay. With ``chunk_size``, a
batch is predicted in length-sorted chunks, which wastes less compute on padding on a CPU,
and each request is answered as soon as its chunk is done. ``stats()`` counts batches,
records and the seconds the model spent predicting (busy seconds over wall time is the
model's utilisation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batcher", "model_thread"]


def model_thread() -> ThreadPoolExecutor:
    """A one-thread executor for every call into a served model, its loading included.

    Used by batched and multi-model workers, whose event loop must not run the model. torch's
    OpenMP runtime (libgomp) gives each calling thread its own team of worker
    threads, and once a process has more OpenMP threads than CPUs it stops letting idle
    workers spin between operations: each operation then pays to wake them. Loading on the
    main thread and predicting on another thus makes two teams and slows every batch (by
    about a fifth, measured on 2 cores); one thread for all of it keeps one team.
    """
    return ThreadPoolExecutor(1, thread_name_prefix="sagebox-model")


@dataclass
class _Pending:
    items: list[Any]
    future: asyncio.Future[list[Any]] = field(repr=False)


class Batcher:
    """Collects records of concurrent requests into batches for one model.

    Example:
        >>> batcher = Batcher(model, max_batch_size=32, max_delay_ms=5)
        >>> predictions = await batcher.predict(["love it"])
    """

    def __init__(
        self,
        model: Any,
        max_batch_size: int = 32,
        max_delay_ms: float = 5.0,
        chunk_size: int | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.model = model
        self.max_batch_size = max_batch_size
        self.chunk_size = chunk_size
        self.max_delay = max_delay_ms / 1000
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.records = 0
        self.busy_seconds = 0.0  # time spent in model.predict (written by the model thread)
        self._executor = executor

    async def predict(self, items: list[Any]) -> list[Any]:
        """Predict ``items`` as part of a batch; return their predictions in order."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(list(items), future))
        return await future

    def stats(self) -> dict[str, float]:
        """Batches started, their mean size, and the seconds the model spent predicting."""
        return {
            "batches": self.batches,
            "records": self.records,
            "mean_batch_size": round(self.records / self.batches, 2) if self.batches else 0.0,
            "busy_seconds": round(self.busy_seconds, 3),
        }

    def _model_thread(self) -> ThreadPoolExecutor:
        """The one thread every batch is predicted on (see :func:`model_thread`).

        Always the same OS thread, never one of the loop's default pool, so that a model call
        never waits behind other work handed to that pool. Pass the ``executor`` the model
        was loaded on to keep a single OpenMP team in the process.
        """
        if self._executor is None:
            self._executor = model_thread()
        return self._executor

    def _predict_chunks(
        self, items: list[Any], on_chunk: Callable[[list[int], list[Any]], None]
    ) -> None:
        """Predict ``items``, handing each chunk's rows and predictions to ``on_chunk``.

        Padding a batch to its longest text wastes compute on a CPU, so with ``chunk_size``
        the batch is ordered by length and predicted in chunks.
        """
        if not self.chunk_size or len(items) <= self.chunk_size:
            on_chunk(list(range(len(items))), self._timed_predict(items))
            return
        order = sorted(range(len(items)), key=lambda i: len(str(items[i])))
        for start in range(0, len(order), self.chunk_size):
            rows = order[start : start + self.chunk_size]
            on_chunk(rows, self._timed_predict([items[i] for i in rows]))

    def _timed_predict(self, items: list[Any]) -> list[Any]:
        """``model.predict``, its time added to ``busy_seconds`` before anyone is answered."""
        started = time.perf_counter()
        try:
            return list(self.model.predict(items))
        finally:
            self.busy_seconds += time.perf_counter() - started

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].items)
            deadline = loop.time() + self.max_delay
            while size < self.max_batch_size:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    size += len(batch[-1].items)
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        batch.append(await self._queue.get())
                except TimeoutError:
                    break
                size += len(batch[-1].items)
            flat = [item for pending in batch for item in pending.items]
            answers = _Answers(batch)
            # counted before any request is answered (chunks answer before the batch ends)
            self.batches += 1
            self.records += len(flat)
            try:
                await loop.run_in_executor(
                    self._model_thread(), self._predict_chunks, flat, answers.from_thread(loop)
                )
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)


class _Answers:
    """Answers each request of a batch as soon as all of its records are predicted.

    With chunks, the clients of the first chunks get their answers while later chunks still
    run, so their next requests queue up for the next batch meanwhile instead of after it.
    """

    def __init__(self, batch: list[_Pending]) -> None:
        self.batch = batch
        self.owner: list[int] = []
        self.start: list[int] = []
        for index, pending in enumerate(batch):
            self.start.append(len(self.owner))
            self.owner.extend([index] * len(pending.items))
        self.results: list[Any] = [None] * len(self.owner)
        self.left = [len(pending.items) for pending in batch]

    def from_thread(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[list[int], list[Any]], None]:
        """A chunk callback for the prediction thread: :meth:`deliver` on ``loop``."""

        def on_chunk(rows: list[int], predictions: list[Any]) -> None:
            loop.call_soon_threadsafe(self.deliver, rows, predictions)

        return on_chunk

    def deliver(self, rows: list[int], predictions: list[Any]) -> None:
        """Store one chunk's predictions (on the event loop) and answer completed requests."""
        for row, prediction in zip(rows, predictions, strict=True):
            self.results[row] = prediction
            index = self.owner[row]
            self.left[index] -= 1
            if self.left[index] == 0:
                pending = self.batch[index]
                if not pending.future.done():
                    first = self.start[index]
                    pending.future.set_result(self.results[first : first + len(pending.items)])
