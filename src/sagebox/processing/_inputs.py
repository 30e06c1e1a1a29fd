"""Which lake objects a processing input holds, and which of them each worker gets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError
from sagebox.processing.spec import normal_distribution

if TYPE_CHECKING:
    from sagebox.jobs.context import JobContext

__all__ = ["deal", "input_objects"]


def input_objects(ctx: JobContext, item: dict[str, Any]) -> list[tuple[str, str]]:
    """``(lake key, path relative to the input's directory)`` of an input's objects, by key.

    Hidden objects (``_SUCCESS``, ``_temporary/...``, uncommitted writes) are left out.

    Raises:
        InputDataError: if the input holds no data.
    """
    from sagebox.lake import visible

    storage = ctx.session.storage
    key = ctx.session.key_for(item["source"])
    if key and not key.endswith("/") and storage.exists(key):
        objects = [(key, Path(key).name)]
    else:
        prefix = key.rstrip("/") + "/" if key else ""
        objects = [
            (info.key, info.key[len(prefix) :])
            for info in visible(storage, storage.list(prefix))
            if not info.key.endswith("/") and "/_" not in "/" + info.key[len(prefix) :]
        ]
    if not objects:
        raise InputDataError(
            f"processing input {item['input_name']!r} has no data at {item['source']}",
            hint="check the URI (sagebox lake ls) or upload the data first",
        )
    return objects


def deal(objects: list[Any], workers: int, distribution: str) -> list[list[Any]]:
    """Each worker's share: everything (``FullyReplicated``) or every N-th (``ShardedByKey``)."""
    if normal_distribution(distribution) == "ShardedByKey":
        return [objects[index::workers] for index in range(workers)]
    return [list(objects) for _ in range(workers)]
