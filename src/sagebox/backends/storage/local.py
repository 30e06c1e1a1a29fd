"""The local-filesystem object store (``file:///abs/path``), the default lake."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sagebox.backends.storage import normalize_key
from sagebox.backends.storage.base import ObjectInfo, ObjectStore
from sagebox.errors import ConfigError, InputDataError, NotFoundError

if TYPE_CHECKING:
    from fsspec.implementations.local import LocalFileSystem

    from sagebox.config import Settings

__all__ = ["LocalObjectStore"]

#: suffix of in-progress writes; such files are never listed as objects
TEMP_SUFFIX = ".sagebox-tmp"


class LocalObjectStore(ObjectStore):
    """Objects as files under a local directory; keys are paths relative to it.

    Writes go to a temporary file in the target's directory, are flushed to disk and then
    renamed over the target with :func:`os.replace`, so readers see the old or the complete new
    file and a failed write leaves the old one intact. The root is created on first write.

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
            _replace_atomically(target, lambda tmp: shutil.copyfileobj(source, tmp, 1 << 20))
        return target

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = normalize_key(prefix, prefix=True)
        # Walk only the deepest directory the prefix names, not the whole lake.
        start = self.root / prefix.rpartition("/")[0]
        infos = []
        for dirpath, _, filenames in os.walk(start):
            for name in filenames:
                if name.endswith(TEMP_SUFFIX):
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
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
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
        _replace_atomically(target, write)

    @contextmanager
    def _missing_is_not_found(self, key: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFoundError(
                f"no object {key!r} in {self.uri}",
                hint="check the key; store.list(prefix) shows what is stored",
            ) from exc


def _replace_atomically(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write a temp file next to ``target``, fsync it, then rename it over ``target``."""
    # Not tempfile.mkstemp: its 0600 mode would stick to the object; 0666 lets umask decide.
    tmp = target.with_name(f".{target.name[:100]}.{secrets.token_hex(8)}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
