"""The feature-group registry interface: definitions of feature groups, kept in the metadata DB.

Example:
    >>> from sagebox.features.registry import open_feature_group_store
    >>> registry = open_feature_group_store("sqlite:///:memory:")
    >>> registry.list()
    []
"""

from __future__ import annotations

import abc
import builtins
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagebox._registry import Registry
from sagebox.errors import ConfigError, InputDataError
from sagebox.features.definitions import FeatureDefinition

__all__ = [
    "FEATURE_GROUP_STORES",
    "SEARCH_FIELDS",
    "FeatureGroupRecord",
    "FeatureGroupStore",
    "check_group_name",
    "open_feature_group_store",
]

_GROUP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*")
#: where :meth:`FeatureGroupStore.search` looks
SEARCH_FIELDS = ("name", "description", "tag", "feature")


def check_group_name(name: str) -> str:
    """``name`` if it is a valid feature-group name.

    Raises:
        InputDataError: unless it is letters and digits, joined by single ``-`` or ``_``,
            starting with a letter, at most 64 characters.
    """
    if not isinstance(name, str) or len(name) > 64 or not _GROUP_NAME.fullmatch(name):
        raise InputDataError(
            f"invalid feature group name {name!r}",
            hint="use letters and digits joined by - or _, starting with a letter "
            "(at most 64 characters), e.g. reviews-features",
        )
    return name


@dataclass
class FeatureGroupRecord:
    """A feature group's definition, as the registry keeps it.

    Attributes:
        name: the group's name.
        record_identifier_name: the feature that identifies a record.
        event_time_feature_name: the feature holding each record's event time.
        features: every feature, in order.
        description: free text.
        tags: user labels.
        offline_uri: lake folder of the offline store (append-only Parquet).
        table_name: the catalog table (``database.table``) over the offline store.
        online_enabled: whether records are also kept in the online store.
        ttl_seconds: online records expire this long after their event time (None: never).
        status: ``Created``.
    """

    name: str
    record_identifier_name: str
    event_time_feature_name: str
    features: list[FeatureDefinition]
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    offline_uri: str = ""
    table_name: str = ""
    online_enabled: bool = True
    ttl_seconds: float | None = None
    status: str = "Created"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def feature(self, name: str) -> FeatureDefinition:
        """The definition of feature ``name``.

        Raises:
            InputDataError: if the group has no such feature.
        """
        for definition in self.features:
            if definition.name == name:
                return definition
        raise InputDataError(
            f"feature group {self.name!r} has no feature {name!r}",
            hint=f"its features: {', '.join(d.name for d in self.features)}",
        )

    def feature_names(self) -> list[str]:
        """Every feature's name, in order."""
        return [d.name for d in self.features]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``--json`` output)."""
        return {
            "name": self.name,
            "record_identifier_name": self.record_identifier_name,
            "event_time_feature_name": self.event_time_feature_name,
            "features": [d.to_dict() for d in self.features],
            "description": self.description,
            "tags": dict(self.tags),
            "offline_uri": self.offline_uri,
            "table_name": self.table_name,
            "online_enabled": self.online_enabled,
            "ttl_seconds": self.ttl_seconds,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    def matches(self, text: str, fields: tuple[str, ...] = SEARCH_FIELDS) -> bool:
        """Whether ``text`` occurs (case-insensitively) in one of ``fields``.

        A tag matches on its key, its value or ``key=value``.
        """
        needle = text.strip().lower()
        haystack: list[str] = []
        if "name" in fields:
            haystack.append(self.name)
        if "description" in fields:
            haystack.append(self.description)
        if "tag" in fields:
            for key, value in self.tags.items():
                haystack += [key, value, f"{key}={value}"]
        if "feature" in fields:
            haystack += self.feature_names()
        return any(needle in item.lower() for item in haystack)


class FeatureGroupStore(abc.ABC):
    """Persistent feature-group definitions.

    Example:
        >>> registry = open_feature_group_store("sqlite:///:memory:")
        >>> registry.get("reviews")  # doctest: +SKIP
        Traceback (most recent call last):
        sagebox.errors.NotFoundError: no feature group 'reviews'
    """

    @abc.abstractmethod
    def create(self, record: FeatureGroupRecord) -> FeatureGroupRecord:
        """Store a new group (timestamps set). Raises AlreadyExistsError."""

    @abc.abstractmethod
    def get(self, name: str) -> FeatureGroupRecord:
        """One group. Raises NotFoundError (hinting close names)."""

    @abc.abstractmethod
    def list(self) -> builtins.list[FeatureGroupRecord]:
        """Every group, by name."""

    @abc.abstractmethod
    def update(self, name: str, **changes: Any) -> FeatureGroupRecord:
        """Set ``description``, ``tags``, ``features``, ``ttl_seconds`` or ``status``."""

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove a group's definition. Raises NotFoundError."""

    def search(
        self, text: str, fields: tuple[str, ...] = SEARCH_FIELDS
    ) -> builtins.list[FeatureGroupRecord]:
        """Groups in which ``text`` occurs in one of ``fields`` (see :data:`SEARCH_FIELDS`).

        Raises:
            InputDataError: if a field is unknown.
        """
        unknown = [f for f in fields if f not in SEARCH_FIELDS]
        if unknown:
            raise InputDataError(
                f"cannot search feature groups by {', '.join(unknown)}",
                hint=f"search by: {', '.join(SEARCH_FIELDS)}",
            )
        return [g for g in self.list() if g.matches(text, fields)]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


FEATURE_GROUP_STORES: Registry[FeatureGroupStore] = Registry("feature group store URI scheme")
for _scheme in ("sqlite", "postgresql", "postgres"):
    FEATURE_GROUP_STORES.register(_scheme, "sagebox.features._sql_registry:SqlFeatureGroupStore")


def open_feature_group_store(uri: str) -> FeatureGroupStore:
    """Open the registry kept in the metadata database at ``uri`` (migrating it if needed).

    Raises:
        ConfigError: unknown scheme or malformed URI.
        ServiceUnavailableError: the database cannot be reached.
    """
    scheme, sep, _ = uri.partition("://")
    if not sep:
        raise ConfigError(f"the metadata URI {uri!r} has no scheme", hint="e.g. sqlite:///path")
    return FEATURE_GROUP_STORES.get(scheme.split("+", 1)[0].lower())(uri)
