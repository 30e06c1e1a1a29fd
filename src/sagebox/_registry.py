"""Name → implementation registries with lazy imports, and the one parser of backend URIs.

Backends register a dotted path (``"package.module:Class"``) under a name (a URI scheme or a
config value); the module is only imported when first used, so ``import sagebox`` stays fast and
optional extras (s3fs, psycopg, ray) are needed only by those who use them.

Third-party packages add implementations through entry points, without sagebox importing them
up front: a registry made with ``group="sagebox.backends.kv"`` looks a name that nothing built
in has up in that entry-point group, and loads the one it finds. A plugin's ``pyproject.toml``::

    [project.entry-points."sagebox.backends.kv"]
    memcached = "sagebox_memcached:MemcachedOnlineStore"

makes ``open_online_store("memcached://host:11211")`` call ``MemcachedOnlineStore(uri)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from sagebox._extras import extra_for
from sagebox.errors import ConfigError

__all__ = ["BackendRegistry", "BackendURI", "Registry", "parse_uri"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A registry of lazily imported implementations of one interface.

    Args:
        kind: what the names name, for messages (``"job kind"``, ``"storage URI scheme"``).
        group: the entry-point group in which third-party packages register more names;
            ``None`` for a registry closed to plugins.

    Example:
        >>> stores = Registry[object]("storage backend")
        >>> stores.register("file", "sagebox.backends.storage.local:LocalObjectStore")
        >>> stores.names()
        ['file']
    """

    def __init__(self, kind: str, *, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._paths: dict[str, str] = {}
        self._loaded: dict[str, Callable[..., T]] = {}

    def register(self, name: str, target: str | Callable[..., T]) -> None:
        """Register ``target`` (a ``"module:attr"`` path or a callable) under ``name``."""
        if callable(target):
            self._loaded[name] = target
        else:
            self._paths[name] = target

    def names(self) -> list[str]:
        """All registered names, built-in and from installed plugins, sorted."""
        plugins = {ep.name for ep in self._entry_points()}
        return sorted(set(self._paths) | set(self._loaded) | plugins)

    def get(self, name: str) -> Callable[..., T]:
        """Return the implementation registered under ``name``, importing it if needed.

        A name that nothing built in has is looked up in the registry's entry-point group.

        Raises:
            ConfigError: if nothing is registered under ``name``, or its module needs a
                package that is not installed.
        """
        if name in self._loaded:
            return self._loaded[name]
        path = self._paths.get(name)
        if path is None:
            return self._plugin(name)
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                f"the {self.kind} {name!r} needs a package that is not installed ({exc.name})",
                hint=f"install it, e.g. pip install 'sagebox[{extra_for(exc.name)}]'",
            ) from exc
        impl: Callable[..., T] = getattr(module, attr)
        self._loaded[name] = impl
        return impl

    def _plugin(self, name: str) -> Callable[..., T]:
        found = [ep for ep in self._entry_points() if ep.name == name]
        if not found:
            raise ConfigError(
                f"unknown {self.kind} {name!r}", hint=f"use one of: {', '.join(self.names())}"
            )
        entry = found[0]
        try:
            impl: Callable[..., T] = entry.load()
        except ImportError as exc:
            raise ConfigError(
                f"the {self.kind} {name!r} (plugin {entry.value}) cannot be imported: {exc}",
                hint=f"install the package that provides {entry.module}",
            ) from exc
        self._loaded[name] = impl
        return impl

    def _entry_points(self) -> list[EntryPoint]:
        # Read on every call (only for names not built in): a plugin installed since is seen.
        return [] if self.group is None else list(entry_points(group=self.group))


@dataclass(frozen=True)
class BackendURI:
    """A backend URI split once: ``scheme[+driver]://rest``.

    Attributes:
        scheme: the scheme in lower case, without its driver; ``""`` for a bare value
            (a path or a name) that has no ``://``.
        driver: what follows ``+`` in the scheme (``psycopg`` in ``postgresql+psycopg://``).
        rest: everything after ``://`` (the whole value when it is bare).

    Example:
        >>> parse_uri("postgresql+psycopg://u@db:5432/sagebox")
        BackendURI(scheme='postgresql', driver='psycopg', rest='u@db:5432/sagebox')
    """

    scheme: str
    driver: str | None
    rest: str


def parse_uri(uri: str) -> BackendURI:
    """Split ``uri`` into scheme, ``+driver`` and the rest (see :class:`BackendURI`)."""
    head, sep, rest = uri.partition("://")
    if not sep:
        return BackendURI("", None, uri)
    scheme, plus, driver = head.partition("+")
    return BackendURI(scheme.strip().lower(), driver.strip().lower() if plus else None, rest)


class BackendRegistry(Registry[T]):
    """The backends of one kind, keyed by URI scheme and opened from a URI by :meth:`open`.

    Every implementation is called with the full URI (and any further arguments given to
    :meth:`open`); it parses the rest itself. Built-in schemes are registered by dotted path;
    third-party ones come from the entry-point group ``group``.

    Args:
        kind: the kind of backend, for messages (``"metadata"``, ``"online store"``).
        group: the entry-point group of third-party backends, e.g. ``"sagebox.backends.kv"``.
        bare_names: whether a value without ``://`` is itself a name (``local`` compute);
            otherwise such a value is refused for having no scheme.

    Example:
        >>> from sagebox.backends.kv import ONLINE_STORES
        >>> ONLINE_STORES.open("sqlite:///:memory:").count("reviews")
        0
    """

    def __init__(self, kind: str, *, group: str, bare_names: bool = False) -> None:
        super().__init__(f"{kind} URI scheme", group=group)
        self.backend_kind = kind
        self.bare_names = bare_names

    def open(self, uri: str, /, *args: Any, **kwargs: Any) -> T:
        """Open the backend that ``uri``'s scheme names: ``implementation(uri, *args, **kwargs)``.

        Raises:
            ConfigError: if ``uri`` has no scheme, or no backend (built in or plugin) has it;
                the message lists the known schemes.
        """
        scheme = parse_uri(uri).scheme
        if not scheme:
            if not self.bare_names:
                known = ", ".join(f"{name}://" for name in self.names())
                raise ConfigError(
                    f"the {self.backend_kind} URI {uri!r} has no scheme",
                    hint=f"start it with one of: {known}",
                )
            scheme = uri.strip().lower()
        return self.get(scheme)(uri, *args, **kwargs)
