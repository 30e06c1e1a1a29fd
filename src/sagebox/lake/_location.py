"""Where data is: a URI or a lake key, resolved to a store and a key, prefix or glob.

Accepted forms:

- ``s3://bucket/prefix/...`` or ``file:///abs/path/...``: a full URI (inside the configured
  lake or anywhere else the settings can reach);
- ``/abs/path`` or ``./rel/path``: a local path;
- ``raw/reviews/`` (anything else): a key in the session's lake.

Each form may name one object, a prefix (every object under it) or a glob (``*`` within one
folder, ``**`` across folders, ``?``, ``[abc]``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagebox.backends.storage import normalize_key
from sagebox.backends.storage.hive import is_hidden
from sagebox.lake._state import visible

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo, ObjectStore
    from sagebox.session import Session

__all__ = ["Location", "glob_regex", "locate"]

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Location:
    """A store and a key, prefix or glob relative to its root.

    Example:
        >>> loc = locate("raw/reviews/")  # doctest: +SKIP
        >>> [info.key for info in loc.objects()]  # doctest: +SKIP
        ['raw/reviews/part-0.csv', 'raw/reviews/part-1.csv']
    """

    store: ObjectStore
    key: str
    text: str

    @property
    def uri(self) -> str:
        """The full URI of the key (or prefix)."""
        return self.store.url(self.key) if self.key else self.store.uri

    @property
    def is_glob(self) -> bool:
        """Whether the key is a glob pattern."""
        return any(c in self.key for c in _GLOB_CHARS)

    @property
    def folder(self) -> str:
        """The key as a folder (no trailing slash): the dataset root of a prefix."""
        return self.key.rstrip("/")

    def at(self, key: str) -> Location:
        """Another key of the same store."""
        return Location(self.store, key, key)

    def child(self, relative: str) -> Location:
        """The location of ``relative`` under this one (taken as a folder)."""
        key = f"{self.folder}/{relative}" if self.folder else relative
        return Location(self.store, key, key)

    def objects(self, *, data_only: bool = True) -> list[ObjectInfo]:
        """The objects this location names: one object, all under a prefix, or a glob's matches.

        With ``data_only`` (the default), bookkeeping files (names starting with ``_`` or ``.``
        below the prefix) and files a dataset write has not committed are left out.

        Returns:
            Matching objects sorted by key; empty if nothing matches.
        """
        if self.is_glob:
            base = self.key[: min(self.key.find(c) for c in _GLOB_CHARS if c in self.key)]
            base = base.rpartition("/")[0]
            pattern = glob_regex(self.key)
            listed = self.store.list(base + "/" if base else "")
            infos = [info for info in listed if pattern.fullmatch(info.key)]
            prefix_len = len(base) + 1 if base else 0
        else:
            infos, prefix_len = self._exact_or_prefix()
        if data_only:
            infos = visible(self.store, infos)
            infos = [i for i in infos if not is_hidden(i.key[prefix_len:])]
        return infos

    def _exact_or_prefix(self) -> tuple[list[ObjectInfo], int]:
        if self.key and not self.key.endswith("/"):
            listed = self.store.list(self.key)
            exact = [info for info in listed if info.key == self.key]
            if exact:
                return exact, len(self.key.rpartition("/")[0]) + 1
            under = [info for info in listed if info.key.startswith(self.key + "/")]
            return under, len(self.key) + 1
        prefix = self.key
        return self.store.list(prefix), len(prefix)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a key glob: ``*`` and ``?`` stay within one folder, ``**`` spans folders."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def locate(text: str, session: Session | None = None) -> Location:
    """Resolve a URI, local path or lake key to a :class:`Location`.

    Args:
        text: ``s3://bucket/key``, ``file:///path``, ``/local/path`` or a lake key (``""`` is
            the lake's root).
        session: supplies the lake and the settings (a default session if None).

    Raises:
        InputDataError: if a key has a ``..`` segment.
        ConfigError: if its scheme is unknown.
    """
    from sagebox.backends.storage import open_store

    session = session or _default_session()
    if not text.strip():
        return Location(session.storage, "", text)
    trailing = "/" if text.endswith("/") else ""
    if "://" not in text and not text.startswith(("/", "./", "../", "~")):
        key = normalize_key(text, prefix=True).rstrip("/")
        return Location(session.storage, key + trailing if key else "", text)
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text)) + trailing
    lake_root = session.storage.uri.rstrip("/")
    if text == lake_root or text.startswith(lake_root + "/"):
        key = normalize_key(text[len(lake_root) :], prefix=True).rstrip("/")
        return Location(session.storage, key + trailing if key else "", text)
    scheme, _, path = text.partition("://")
    if scheme.lower() == "file":
        root, rest = "file:///", path
    else:
        bucket, _, rest = path.partition("/")
        root = f"{scheme}://{bucket}"
    key = normalize_key(rest, prefix=True).rstrip("/")
    store = open_store(root, session.settings)
    return Location(store, key + trailing if key else "", text)


def _default_session() -> Session:
    from sagebox.session import Session

    return Session()
