"""The feature-group store interface: definitions of feature groups, kept in the metadata DB.

A feature-group store keeps one :class:`FeatureGroupRecord` per group name (case-sensitive,
checked by :func:`check_group_name`): its record identifier and event-time features, every
:class:`FeatureDefinition` in order, and where its offline data and catalog table are. The
store's contract, which :mod:`sagebox.testing.metadata` checks:

- :meth:`FeatureGroupStore.create` sets ``created_at`` and ``updated_at`` and raises
  :class:`~sagebox.errors.AlreadyExistsError` for a taken name;
- :meth:`FeatureGroupStore.get` and :meth:`~FeatureGroupStore.delete` raise
  :class:`~sagebox.errors.NotFoundError` (``no feature group 'name'``, close names hinted);
- :meth:`FeatureGroupStore.list` returns every group by name, and a record read back equals
  the one stored (features with their collection type and dimension, tags, TTL);
- :meth:`FeatureGroupStore.update` changes only ``description``, ``tags``, ``features``,
  ``ttl_seconds``, ``status`` and ``online_enabled``; any other field raises
  :class:`~sagebox.errors.InputDataError` naming it and nothing is changed.

Implementations: SQL (:class:`~sagebox.backends.metadata.sql_feature_groups.SqlFeatureGroupStore`,
table ``feature_groups`` of the metadata database).

Example:
    >>> from sagebox.backends.metadata import open_feature_group_store
    >>> registry = open_feature_group_store("sqlite:///:memory:")
    >>> registry.list()
    []
"""

from __future__ import annotations

import abc
import builtins
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError
from sagebox.names import FEATURE_GROUP, check_resource_name

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "RESERVED_NAMES",
    "SEARCH_FIELDS",
    "CollectionType",
    "FeatureDefinition",
    "FeatureGroupRecord",
    "FeatureGroupStore",
    "FeatureType",
    "check_feature_name",
    "check_group_name",
]

_FEATURE_NAME = re.compile(r"[A-Za-z0-9]([-_]*[A-Za-z0-9]){0,63}")
#: columns the offline store adds to every record; features may not use these names
RESERVED_NAMES = ("write_time", "api_invocation_time", "is_deleted")


class FeatureType(enum.StrEnum):
    """The scalar type of a feature (SageMaker's names)."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


class CollectionType(enum.StrEnum):
    """How many values a feature holds: a list of any length, or a vector of fixed length."""

    LIST = "List"
    VECTOR = "Vector"


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature: its name, scalar type and (for list/vector features) collection type.

    Example:
        >>> FeatureDefinition("input_ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128)
        FeatureDefinition(name='input_ids', type=<FeatureType.INTEGRAL: 'Integral'>, ...)
    """

    name: str
    type: FeatureType
    collection_type: CollectionType | None = None
    dimension: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _enum(FeatureType, self.type, self.name, "type"))
        if self.collection_type is not None:
            kind = _enum(CollectionType, self.collection_type, self.name, "collection_type")
            object.__setattr__(self, "collection_type", kind)
        if self.collection_type is CollectionType.VECTOR and not (
            isinstance(self.dimension, int) and self.dimension > 0
        ):
            raise InputDataError(
                f"vector feature {self.name!r} needs a positive dimension, got {self.dimension!r}",
                hint="give dimension=N (e.g. max_seq_length for token ids)",
            )

    @property
    def is_collection(self) -> bool:
        """Whether the feature holds a list or vector of values."""
        return self.collection_type is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in the registry and printed by the CLI."""
        out: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.collection_type is not None:
            out["collection_type"] = self.collection_type.value
        if self.dimension is not None:
            out["dimension"] = self.dimension
        return out

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> FeatureDefinition:
        """Parse the JSON form (also accepts SageMaker's ``FeatureName``/``FeatureType`` keys).

        Raises:
            InputDataError: if a key is missing or a type unknown.
        """
        name = value.get("name", value.get("FeatureName"))
        kind = value.get("type", value.get("FeatureType"))
        if not isinstance(name, str) or kind is None:
            raise InputDataError(
                f"a feature definition needs a name and a type, got {value!r}",
                hint='write e.g. {"name": "score", "type": "Fractional"}',
            )
        collection = value.get("collection_type", value.get("CollectionType"))
        dimension = value.get("dimension", (value.get("CollectionConfig") or {}).get("Dimension"))
        return cls(check_feature_name(name), kind, collection, dimension)

    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the feature's values in the offline store."""
        import pyarrow as pa

        scalar = {
            FeatureType.INTEGRAL: pa.int64(),
            FeatureType.FRACTIONAL: pa.float64(),
            FeatureType.STRING: pa.string(),
        }[self.type]
        return pa.list_(scalar) if self.is_collection else scalar

    def catalog_type(self) -> tuple[str, str]:
        """The catalog column type and comment (collections are noted in the comment)."""
        scalar = {"Integral": "bigint", "Fractional": "double", "String": "string"}[self.type]
        if not self.is_collection:
            return scalar, ""
        return "string", f"array<{scalar}>"


def _enum(cls: type[enum.StrEnum], value: Any, name: str, what: str) -> Any:
    try:
        return cls(value.value if isinstance(value, enum.Enum) else str(value))
    except ValueError:
        raise InputDataError(
            f"feature {name!r} has unknown {what} {value!r}",
            hint=f"use one of: {', '.join(m.value for m in cls)}",
        ) from None


def check_feature_name(name: str) -> str:
    """``name`` if it is a valid feature name.

    Raises:
        InputDataError: if it is not letters, digits, ``-`` and ``_`` (up to 64 characters,
            starting and ending with a letter or digit) or is a reserved name.
    """
    if not isinstance(name, str) or not _FEATURE_NAME.fullmatch(name):
        raise InputDataError(
            f"invalid feature name {name!r}",
            hint="use letters, digits, - and _ (start and end with a letter or digit)",
        )
    if name in RESERVED_NAMES:
        raise InputDataError(
            f"feature name {name!r} is reserved by the offline store",
            hint=f"rename the column; reserved: {', '.join(RESERVED_NAMES)}",
        )
    return name


#: where :meth:`FeatureGroupStore.search` looks
SEARCH_FIELDS = ("name", "description", "tag", "feature")


def check_group_name(name: str) -> str:
    """``name`` if it is a valid feature-group name.

    Raises:
        InputDataError: unless it is letters and digits, joined by single ``-`` or ``_``,
            starting with a letter, at most 64 characters.
    """
    return check_resource_name("feature group", name, FEATURE_GROUP)


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
        >>> from sagebox.backends.metadata import open_feature_group_store
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
