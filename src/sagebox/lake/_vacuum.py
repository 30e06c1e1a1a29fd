"""``sagebox lake vacuum``: reclaim what dead writers left in the lake.

Two kinds of leftovers: files of dataset writes whose writer died before its commit (pending in
the dataset's state object, hidden from readers) and files that a committed overwrite replaced
but could not delete; and temp files of killed uploads (``sagebox lake put``), swept by the
store (:meth:`ObjectStore.sweep_temp`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagebox.lake._location import Location, locate
from sagebox.lake._state import STATE_NAME, DatasetState, join_key, purge, update_state

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = ["VacuumResult", "vacuum"]


@dataclass
class VacuumResult:
    """What a vacuum removed (or, with ``dry_run``, would remove).

    ``files`` are URIs; ``transactions`` the dead writes rolled back, per dataset folder URI.
    """

    uri: str
    dry_run: bool
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    transactions: dict[str, list[str]] = field(default_factory=dict)
    temp_files: int = 0


def vacuum(
    location: str | Location = "",
    *,
    older_than: float = 3600.0,
    dry_run: bool = False,
    session: Session | None = None,
) -> VacuumResult:
    """Roll back dead writes and delete their files, and sweep temp files of killed uploads.

    A pending write is dead when its writer's process is gone (writer on this host) or it
    started more than ``older_than`` seconds ago (writer elsewhere, where it cannot be
    checked); a temp file when it was not modified for ``older_than`` seconds. Committed data
    is never touched.

    Args:
        location: prefix to vacuum (default: the whole lake).
        older_than: age threshold in seconds.
        dry_run: only report what would be removed.
        session: whose lake to use.
    """
    loc = location if isinstance(location, Location) else locate(location, session)
    store = loc.store
    prefix = f"{loc.folder}/" if loc.folder else ""
    infos = store.list(prefix)
    sizes = {info.key: info.size for info in infos}
    out = VacuumResult(loc.uri, dry_run)
    folders = [
        info.key[: -len(STATE_NAME)].rstrip("/")
        for info in infos
        if info.key == STATE_NAME or info.key.endswith("/" + STATE_NAME)
    ]
    for folder in folders:
        state = DatasetState.read(store, folder)
        dead = state.dead(older_than)
        doomed = set(state.removed)
        for txid in dead:
            doomed.update(state.pending[txid])
        if not dead and not doomed:
            continue
        if dead:
            out.transactions[store.url(folder) if folder else store.uri] = dead
        if dry_run:
            gone = sorted(doomed)
        else:
            update_state(store, folder, lambda s: s.roll_back(s.dead(older_than)))
            gone = purge(store, folder)
        for rel in gone:
            key = join_key(folder, rel)
            if key in sizes:  # written before the writer died (or not deleted yet)
                out.files.append(store.url(key))
                out.bytes += sizes[key]
    for info in store.sweep_temp(prefix, older_than, dry_run=dry_run):
        out.files.append(store.url(info.key))
        out.bytes += info.size
        out.temp_files += 1
    return out
