"""Server-side dynamic batching: concurrent requests share one ``predict_fn`` call.

Requests are decoded on arrival; their records wait in a queue until ``max_batch_size`` records
are there or ``max_delay_ms`` has passed since the first, then one ``predict_fn`` runs on all
of them in a thread (so the event loop keeps accepting requests meanwhile) and each request
gets its own slice of the answer. While one batch runs the next one fills, so under load the
batches grow by themselves even with a zero delay. With ``chunk_size``, a batch is predicted
in length-sorted chunks, which wastes less compute on padding on a CPU.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batcher"]


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
    ) -> None:
        self.model = model
        self.max_batch_size = max_batch_size
        self.chunk_size = chunk_size
        self.max_delay = max_delay_ms / 1000
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.records = 0

    async def predict(self, items: list[Any]) -> list[Any]:
        """Predict ``items`` as part of a batch; return their predictions in order."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(list(items), future))
        return await future

    def stats(self) -> dict[str, float]:
        """Batches run and their mean size."""
        return {
            "batches": self.batches,
            "records": self.records,
            "mean_batch_size": round(self.records / self.batches, 2) if self.batches else 0.0,
        }

    def _predict(self, items: list[Any]) -> list[Any]:
        """Predict ``items``; with ``chunk_size``, texts of similar length go together.

        Padding a batch to its longest text wastes compute on a CPU, so the batch is ordered
        by length and predicted in chunks, then put back in arrival order.
        """
        if not self.chunk_size or len(items) <= self.chunk_size:
            return list(self.model.predict(items))
        order = sorted(range(len(items)), key=lambda i: len(str(items[i])))
        out: list[Any] = [None] * len(items)
        for start in range(0, len(order), self.chunk_size):
            rows = order[start : start + self.chunk_size]
            for row, prediction in zip(
                rows, self.model.predict([items[i] for i in rows]), strict=True
            ):
                out[row] = prediction
        return out

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
            try:
                predictions = await asyncio.to_thread(self._predict, flat)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.batches += 1
            self.records += len(flat)
            start = 0
            for pending in batch:
                end = start + len(pending.items)
                if not pending.future.done():
                    pending.future.set_result(list(predictions[start:end]))
                start = end
