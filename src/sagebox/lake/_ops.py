"""Object operations behind ``sagebox lake``: ls, du, put, get, cat and rm."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sagebox.errors import InputDataError, NotFoundError
from sagebox.lake._location import Location, locate

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo
    from sagebox.session import Session

__all__ = ["Entry", "Transfer", "cat", "du", "get", "ls", "put", "rm"]

#: called after each file of a transfer with (bytes done so far, total bytes)
OnProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Entry:
    """One line of a listing: an object, or a folder (``is_dir``) with its totals."""

    uri: str
    key: str
    size: int
    objects: int = 1
    modified: float | None = None
    is_dir: bool = False


@dataclass(frozen=True)
class Transfer:
    """What a put or get copied: ``(source, destination)`` pairs and the bytes moved."""

    files: list[tuple[str, str]]
    bytes: int


def _locate(text: str | Location, session: Session | None) -> Location:
    return text if isinstance(text, Location) else locate(text, session)


def _all(loc: Location) -> list[ObjectInfo]:
    return loc.objects(data_only=False)


def ls(
    location: str | Location = "", *, recursive: bool = False, session: Session | None = None
) -> list[Entry]:
    """List a prefix: its objects and sub-folders (every object with ``recursive``).

    Raises:
        NotFoundError: if nothing is stored there.
    """
    loc = _locate(location, session)
    infos = _all(loc)
    if not infos:
        raise NotFoundError(f"nothing stored at {loc.uri}", hint="check the key or prefix")
    if recursive or loc.is_glob or (len(infos) == 1 and infos[0].key == loc.key):
        return [_entry(loc, i) for i in infos]
    base = f"{loc.folder}/" if loc.folder else ""
    folders: dict[str, list[ObjectInfo]] = {}
    out: list[Entry] = []
    for info in infos:
        rest = info.key[len(base) :]
        head, sep, _ = rest.partition("/")
        if sep:
            folders.setdefault(head, []).append(info)
        else:
            out.append(_entry(loc, info))
    for name, members in folders.items():
        key = base + name + "/"
        out.append(
            Entry(
                loc.store.url(key),
                key,
                sum(m.size for m in members),
                len(members),
                max((m.modified or 0.0) for m in members) or None,
                is_dir=True,
            )
        )
    return sorted(out, key=lambda e: e.key)


def _entry(loc: Location, info: ObjectInfo) -> Entry:
    return Entry(loc.store.url(info.key), info.key, info.size, 1, info.modified)


def du(location: str | Location = "", *, session: Session | None = None) -> list[Entry]:
    """Total size and object count of a prefix, then of each sub-folder and object in it."""
    loc = _locate(location, session)
    entries = ls(loc, session=session)
    total = Entry(
        loc.uri,
        loc.key,
        sum(e.size for e in entries),
        sum(e.objects for e in entries),
        is_dir=True,
    )
    return [total, *entries]


def put(
    local: str | Path,
    destination: str | Location,
    *,
    recursive: bool = False,
    on_progress: OnProgress | None = None,
    session: Session | None = None,
) -> Transfer:
    """Upload a local file (or a folder, with ``recursive``) into the lake.

    A destination ending in ``/`` (or an existing folder) receives the file under its own
    name. Each object is written atomically.

    Raises:
        InputDataError: if the local path is missing, or a folder without ``recursive``.
    """
    source = Path(local).expanduser()
    loc = _locate(destination, session)
    if not source.exists():
        raise InputDataError(f"{source}: no such file or folder", hint="check the local path")
    if source.is_dir():
        if not recursive:
            raise InputDataError(
                f"{source} is a folder", hint="pass --recursive to upload everything in it"
            )
        pairs = [
            (path, f"{loc.folder}/{path.relative_to(source).as_posix()}".lstrip("/"))
            for path in sorted(source.rglob("*"))
            if path.is_file()
        ]
    else:
        into_folder = loc.key.endswith("/") or not loc.key or _is_folder(loc)
        key = f"{loc.folder}/{source.name}".lstrip("/") if into_folder else loc.key
        pairs = [(source, key)]
    total = sum(path.stat().st_size for path, _ in pairs)
    done, out = 0, []
    for path, key in pairs:
        loc.store.upload(path, key)
        done += path.stat().st_size
        out.append((str(path), loc.store.url(key)))
        if on_progress:
            on_progress(done, total)
    return Transfer(out, done)


def _is_folder(loc: Location) -> bool:
    infos = loc.store.list(loc.key + "/") if loc.key else []
    return bool(infos)


def get(
    source: str | Location,
    local: str | Path,
    *,
    on_progress: OnProgress | None = None,
    session: Session | None = None,
) -> Transfer:
    """Download one object, or every object under a prefix, to a local file or folder.

    Raises:
        NotFoundError: if nothing is stored at ``source``.
    """
    loc = _locate(source, session)
    infos = _all(loc)
    if not infos:
        raise NotFoundError(f"nothing stored at {loc.uri}", hint="check the key or prefix")
    target = Path(local).expanduser()
    single = len(infos) == 1 and infos[0].key == loc.key
    if single:
        name = loc.key.rsplit("/", 1)[-1]
        pairs = [(infos[0], target / name if target.is_dir() else target)]
    else:
        base = len(loc.folder) + 1 if loc.folder else 0
        if loc.is_glob:
            base = 0
        pairs = [(info, target / info.key[base:]) for info in infos]
    total = sum(info.size for info, _ in pairs)
    done, out = 0, []
    for info, path in pairs:
        loc.store.download(info.key, path)
        done += info.size
        out.append((loc.store.url(info.key), str(path)))
        if on_progress:
            on_progress(done, total)
    return Transfer(out, done)


def cat(
    location: str | Location, *, session: Session | None = None, chunk: int = 1 << 20
) -> Iterator[bytes]:
    """Yield the content of one object, gunzipped if its key ends in ``.gz``.

    Raises:
        NotFoundError: if there is no such object.
        InputDataError: if the location is a prefix or a glob (name one object).
    """
    loc = _locate(location, session)
    if loc.is_glob or not loc.key or loc.key.endswith("/") or not loc.store.exists(loc.key):
        if loc.key and not loc.is_glob and _is_folder(loc):
            raise InputDataError(
                f"{loc.uri} is a folder", hint="name one object; `sagebox lake ls` lists them"
            )
        raise NotFoundError(f"no object at {loc.uri}", hint="check the key with `sagebox lake ls`")
    fs, root = loc.store.filesystem()
    with fs.open(f"{root.rstrip('/')}/{loc.key}", "rb") as raw:
        handle = gzip.GzipFile(fileobj=raw) if loc.key.lower().endswith(".gz") else raw
        while True:
            try:
                block = handle.read(chunk)
            except (OSError, EOFError) as exc:  # not gzip after all, or cut short
                raise InputDataError(
                    f"{loc.uri}: not a readable gzip file ({exc})",
                    hint="`sagebox lake get` it to look at the bytes; re-upload it compressed, "
                    "or without the .gz suffix",
                ) from None
            if not block:
                return
            yield block


def rm(
    location: str | Location, *, recursive: bool = False, session: Session | None = None
) -> list[str]:
    """Delete one object, or every object under a prefix (only with ``recursive``).

    Returns:
        The URIs deleted.

    Raises:
        NotFoundError: if nothing is stored there.
        InputDataError: if the location is a prefix or glob and ``recursive`` is not set.
    """
    loc = _locate(location, session)
    if loc.key and not loc.key.endswith("/") and not loc.is_glob and loc.store.exists(loc.key):
        loc.store.delete(loc.key)
        return [loc.uri]
    infos = _all(loc)
    if not infos:
        raise NotFoundError(f"nothing stored at {loc.uri}", hint="check the key or prefix")
    if not recursive:
        raise InputDataError(
            f"{loc.uri} names {len(infos)} object(s), not one",
            hint="pass --recursive to delete them all",
        )
    if not loc.key:
        raise InputDataError("refusing to delete the whole lake", hint="name a prefix inside it")
    uris = [loc.store.url(i.key) for i in infos]
    for info in infos:
        loc.store.delete(info.key)
    return uris
