"""Ingest a DataFrame into a feature group: checked whole, then written batch by batch.

Every row is checked before anything is written, so bad input writes nothing. Then each
batch goes to the offline store (one atomic Parquet object named by its content) and to the
online store (one atomic transaction), by ``max_workers`` threads. A failure part-way leaves
whole batches behind, never part of one; running the same ingest again writes the missing
batches and changes nothing else (offline objects already there are skipped, online records
with the same event time are replaced by themselves).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.backends.kv.base import OnlineStore
    from sagebox.backends.metadata import FeatureGroupRecord
    from sagebox.features.records import ValidBatch
    from sagebox.session import Session

__all__ = ["IngestResult", "ingest_frame", "online_records"]


@dataclass
class IngestResult:
    """What an ingest did.

    Attributes:
        rows: records ingested.
        batches: batches written.
        online_written: records that became the online version of their id.
        online_skipped: records older than the online version (kept offline only).
        offline_files: Parquet objects added to the offline store.
        offline_existing: batches already in the offline store (a repeated ingest).
        seconds: wall time.
    """

    rows: int = 0
    batches: int = 0
    online_written: int = 0
    online_skipped: int = 0
    offline_files: int = 0
    offline_existing: int = 0
    seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        """Ingest throughput."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def online_records(record: FeatureGroupRecord, batch: ValidBatch, deleted: bool = False) -> list:  # type: ignore[type-arg]
    """The online-store records of a validated batch (expiring ``ttl_seconds`` after event)."""
    from sagebox.backends.kv.base import OnlineRecord
    from sagebox.features._codec import encode_rows

    ttl_ns = None if record.ttl_seconds is None else int(record.ttl_seconds * 1e9)
    values = [{}] * len(batch) if deleted else encode_rows(batch.table, record.features)
    return [
        OnlineRecord(
            key,
            int(event),
            row,
            None if ttl_ns is None else int(event) + ttl_ns,
            deleted,
        )
        for key, event, row in zip(batch.keys, batch.event_ns.tolist(), values, strict=True)
    ]


def ingest_frame(
    session: Session,
    record: FeatureGroupRecord,
    online: OnlineStore | None,
    df: pd.DataFrame,
    *,
    max_workers: int = 1,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> IngestResult:
    """Ingest ``df`` into the group's offline store and (if given) its online store.

    Args:
        session: whose lake holds the offline store.
        record: the feature group.
        online: the online store, or None when the group has none.
        df: the records; columns must be the group's features.
        max_workers: threads writing batches in parallel.
        batch_size: records per batch (the unit of atomicity).
        on_batch: called with each finished batch's row count (for progress bars).

    Raises:
        InputDataError: bad arguments or bad records (nothing is written then).
    """
    from sagebox.features.offline import write_offline_batch
    from sagebox.features.records import ValidBatch, validate_frame

    if max_workers < 1 or batch_size < 1:
        raise InputDataError(
            f"max_workers and batch_size must be >= 1, got {max_workers} and {batch_size}",
            hint="e.g. max_workers=2, batch_size=1000",
        )
    started = time.perf_counter()
    whole = validate_frame(
        df, record.features, record.record_identifier_name, record.event_time_feature_name
    )
    invoked = datetime.now(UTC)
    result = IngestResult(rows=len(whole))

    failed = threading.Event()

    def write(start: int) -> tuple[int, int, bool]:
        if failed.is_set():  # another batch failed: start no more
            raise _Skipped()
        try:
            return write_batch(start)
        except BaseException:
            failed.set()
            raise

    def write_batch(start: int) -> tuple[int, int, bool]:
        stop = min(start + batch_size, len(whole))
        batch = ValidBatch(
            whole.table.slice(start, stop - start),
            whole.keys[start:stop],
            whole.event_ns[start:stop],
        )
        added = write_offline_batch(session, record, batch, write_time=invoked) is not None
        written = 0
        if online is not None:
            written = online.write_batch(record.name, online_records(record, batch))
        return len(batch), written, added

    starts = list(range(0, len(whole), batch_size))
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(write, start) for start in starts]
        try:
            for future in as_completed(futures):
                rows, written, added = future.result()
                result.batches += 1
                result.online_written += written
                result.online_skipped += rows - written if online is not None else 0
                result.offline_files += int(added)
                result.offline_existing += int(not added)
                if on_batch is not None:
                    on_batch(rows)
        except BaseException as exc:
            for future in futures:
                future.cancel()  # batches already running finish: never half a batch
            if isinstance(exc, _Skipped):
                raise _first_error(futures) from None
            raise
    return _finish(result, started)


def _first_error(futures: list[Future[Any]]) -> BaseException:
    """The failure that made the other batches skip (waiting for it to be recorded)."""
    wait(futures)
    for future in futures:
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, _Skipped):
            return error
    return RuntimeError("an ingest batch failed")


class _Skipped(Exception):
    """A batch not started because another one failed."""


def _finish(result: IngestResult, started: float) -> IngestResult:
    result.seconds = time.perf_counter() - started
    return result
