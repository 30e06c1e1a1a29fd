"""Name → implementation registries with lazy imports.

Backends register a dotted path (``"package.module:Class"``) under a name (a URI scheme or a
config value); the module is only imported when first used, so ``import sagebox`` stays fast and
optional extras (s3fs, psycopg, ray) are needed only by those who use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from sagebox._extras import extra_for
from sagebox.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A registry of lazily imported implementations of one interface.

    Example:
        >>> stores = Registry[object]("storage backend")
        >>> stores.register("file", "sagebox.backends.storage.local:LocalObjectStore")
        >>> stores.names()
        ['file']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._paths: dict[str, str] = {}
        self._loaded: dict[str, Callable[..., T]] = {}

    def register(self, name: str, target: str | Callable[..., T]) -> None:
        """Register ``target`` (a ``"module:attr"`` path or a callable) under ``name``."""
        if callable(target):
            self._loaded[name] = target
        else:
            self._paths[name] = target

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(set(self._paths) | set(self._loaded))

    def get(self, name: str) -> Callable[..., T]:
        """Return the implementation registered under ``name``, importing it if needed.

        Raises:
            ConfigError: if nothing is registered under ``name``.
        """
        if name in self._loaded:
            return self._loaded[name]
        path = self._paths.get(name)
        if path is None:
            known = ", ".join(self.names())
            raise ConfigError(f"unknown {self.kind} {name!r}", hint=f"use one of: {known}")
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
