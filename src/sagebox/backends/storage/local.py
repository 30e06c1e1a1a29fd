"""The local-filesystem object store (``file:///abs/path``), the default lake."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sagebox.backends.storage import normalize_key
from sagebox.backends.storage.base import ObjectInfo, ObjectStore
from sagebox.config import PRIVATE_FILE_MODE, make_private_dir
from sagebox.errors import ConfigError, InputDataError, NotFoundError

if TYPE_CHECKING:
    from fsspec.implementations.local import LocalFileSystem

    from sagebox.config import Settings

__all__ = ["LocalObjectStore"]

#: suffix of in-progress writes; such files are never listed as objects
TEMP_SUFFIX = ".sagebox-tmp"
#: suffix of the lock files of conditional writes (``.<name>.sagebox-lock``); never listed
LOCK_SUFFIX = ".sagebox-lock"
#: temp files untouched this long (seconds) are leftovers of killed writes, swept on later writes
TEMP_MAX_AGE = 3600.0
#: a directory is swept for such leftovers at most this often (seconds) per process
_SWEEP_EVERY = 60.0
_last_swept: dict[Path, float] = {}


class LocalObjectStore(ObjectStore):
    """Objects as files under a local directory; keys are paths relative to it.

    Writes go to a temporary file in the target's directory, are flushed to disk and then
    renamed over the target with :func:`os.replace`, so readers see the old or the complete new
    file and a failed write leaves the old one intact. The root is created on first write.
    Objects are owner-only files (0600) in owner-only directories (0700), whatever the umask;
    :meth:`download` leaves the mode of the local copy to the umask.

    Args:
        uri: ``file:///abs/path`` (``file://localhost/abs/path`` is accepted too).
        settings: unused; accepted so every backend is opened the same way.

    Example:
        >>> store = LocalObjectStore("file:///tmp/lake")
        >>> store.write_bytes("models/m1/model.json", b"{}")
        >>> store.exists("models/m1/model.json")
        True
    """

    def __init__(self, uri: str, settings: Settings | None = None) -> None:
        scheme, _, path = uri.partition("://")
        if path.startswith("localhost/"):
            path = path[len("localhost") :]
        if scheme.lower() != "file" or not path.startswith("/"):
            raise ConfigError(
                f"invalid local storage URI {uri!r}", hint="use file:///absolute/path"
            )
        self.root = Path(os.path.normpath(path))
        self.uri = "file://" + self.root.as_posix().rstrip("/")

    def __repr__(self) -> str:
        return f"LocalObjectStore({self.uri!r})"

    def _path(self, key: str) -> Path:
        return self.root / normalize_key(key)

    def read_bytes(self, key: str) -> bytes:
        with self._missing_is_not_found(key):
            return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        self._atomic_write(key, lambda tmp: tmp.write(data))

    def upload(self, local_path: Path, key: str) -> None:
        source = Path(local_path)
        if not source.is_file():
            raise InputDataError(
                f"cannot upload {str(source)!r}: no such file", hint="check the local path"
            )
        with source.open("rb") as src:
            self._atomic_write(key, lambda tmp: shutil.copyfileobj(src, tmp, 1 << 20))

    def download(self, key: str, local_path: Path) -> Path:
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._missing_is_not_found(key):
            source = self._path(key).open("rb")
        with source:
            _replace_atomically(
                target, lambda tmp: shutil.copyfileobj(source, tmp, 1 << 20), mode=0o666
            )
        return target

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        data = self.read_bytes(key)
        return data, hashlib.sha256(data).hexdigest()

    def write_bytes_if(self, key: str, data: bytes, expected_version: str | None) -> bool:
        target = self._path(key)
        self._prepare(key, target)
        # flock is released by the kernel when the holder dies, so a killed writer never
        # leaves the lock taken; the lock file itself stays (it is tiny and never listed).
        lock = target.with_name(f".{target.name[:100]}{LOCK_SUFFIX}")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current: str | None = hashlib.sha256(target.read_bytes()).hexdigest()
            except FileNotFoundError:
                current = None
            if current != expected_version:
                return False
            _replace_atomically(target, lambda tmp: tmp.write(data), mode=PRIVATE_FILE_MODE)
            return True
        finally:
            os.close(fd)  # releases the lock

    def sweep_temp(
        self, prefix: str = "", older_than: float = TEMP_MAX_AGE, *, dry_run: bool = False
    ) -> list[ObjectInfo]:
        prefix = normalize_key(prefix, prefix=True)
        folder = prefix.rpartition("/")[0]
        out = []
        for dirpath, _, _ in os.walk(self.root / folder):
            out += _sweep_dir(Path(dirpath), self.root, older_than, dry_run)
        return sorted(out, key=lambda info: info.key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = normalize_key(prefix, prefix=True)
        # Walk only the deepest directory the prefix names, not the whole lake.
        start = self.root / prefix.rpartition("/")[0]
        infos = []
        for dirpath, _, filenames in os.walk(start):
            for name in filenames:
                if name.endswith((TEMP_SUFFIX, LOCK_SUFFIX)):
                    continue
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        stat = path.stat()
                    except FileNotFoundError:  # a dangling symlink, or deleted since the walk
                        continue
                    infos.append(ObjectInfo(key, stat.st_size, stat.st_mtime))
        return sorted(infos, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        with self._missing_is_not_found(key):
            self._path(key).unlink()

    def filesystem(self) -> tuple[LocalFileSystem, str]:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(), self.root.as_posix()

    def _atomic_write(self, key: str, write: Callable[[IO[bytes]], object]) -> None:
        target = self._path(key)
        self._prepare(key, target)
        _replace_atomically(target, write, mode=PRIVATE_FILE_MODE)
        _sweep_now_and_then(target.parent, self.root)

    def _prepare(self, key: str, target: Path) -> None:
        """Create the target's folder; refuse keys that nest under (or over) an object."""
        try:
            make_private_dir(target.parent)
        except (FileExistsError, NotADirectoryError) as exc:
            raise InputDataError(
                f"cannot store key {key!r}: a parent of it is already an object",
                hint="choose a key that does not nest under an existing object's key",
            ) from exc
        if target.is_dir():
            raise InputDataError(
                f"cannot store key {key!r}: other objects are stored under {key + '/'!r}",
                hint="choose another key or delete those objects first",
            )

    @contextmanager
    def _missing_is_not_found(self, key: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFoundError(
                f"no object {key!r} in {self.uri}",
                hint="check the key; store.list(prefix) shows what is stored",
            ) from exc


def _sweep_now_and_then(folder: Path, root: Path) -> None:
    """Sweep ``folder`` for leftovers of killed writes, at most every ``_SWEEP_EVERY`` s."""
    now = time.monotonic()
    if now - _last_swept.get(folder, -_SWEEP_EVERY) < _SWEEP_EVERY:
        return
    _last_swept[folder] = now
    with suppress(OSError):  # best effort: a sweep never fails the write that triggered it
        _sweep_dir(folder, root, TEMP_MAX_AGE, dry_run=False)


def _sweep_dir(folder: Path, root: Path, older_than: float, dry_run: bool) -> list[ObjectInfo]:
    """Temp files directly in ``folder`` not modified for ``older_than`` s; deleted unless dry."""
    cutoff = time.time() - older_than
    out = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        if not entry.name.endswith(TEMP_SUFFIX):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
            if stat.st_mtime > cutoff or not entry.is_file(follow_symlinks=False):
                continue
            if not dry_run:
                os.unlink(entry.path)
        except FileNotFoundError:  # finished or swept meanwhile
            continue
        key = Path(entry.path).relative_to(root).as_posix()
        out.append(ObjectInfo(key, stat.st_size, stat.st_mtime))
    return out


def _replace_atomically(target: Path, write: Callable[[IO[bytes]], object], mode: int) -> None:
    """Write a temp file next to ``target``, fsync it, then rename it over ``target``.

    ``mode`` is the new file's mode: ``PRIVATE_FILE_MODE`` is set whatever the umask (lake
    objects), 0o666 lets the umask decide (a user's local copy).
    """
    tmp = target.with_name(f".{target.name[:100]}.{secrets.token_hex(8)}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if mode == PRIVATE_FILE_MODE:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
