"""The :class:`FeatureStore`: discovery of feature groups and point-in-time training sets."""

from __future__ import annotations

import builtins
from functools import cached_property
from typing import TYPE_CHECKING

from sagebox.backends.metadata import SEARCH_FIELDS
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.backends.metadata import FeatureGroupRecord, FeatureGroupStore
    from sagebox.features.group import FeatureGroup
    from sagebox.session import Session

__all__ = ["FeatureStore"]


class FeatureStore:
    """Every feature group of a session: list, search, and build training sets.

    Example:
        >>> store = FeatureStore(session)
        >>> [g.name for g in store.search("sentiment", fields=("feature",))]  # doctest: +SKIP
        ['reviews']
        >>> entities = pd.DataFrame({"review_id": [17, 18],
        ...                          "date": ["2026-11-27T10:00:00Z"] * 2})  # doctest: +SKIP
        >>> store.training_set(entities, ["reviews"])  # doctest: +SKIP
    """

    def __init__(self, session: Session | None = None) -> None:
        from sagebox.session import Session

        self.session = session or Session()

    @cached_property
    def _registry(self) -> FeatureGroupStore:
        from sagebox.backends.metadata import open_feature_group_store

        return open_feature_group_store(self.session.settings.metadata_uri)

    def feature_group(self, name: str) -> FeatureGroup:
        """The :class:`FeatureGroup` named ``name`` (not checked until used)."""
        from sagebox.features.group import FeatureGroup

        return FeatureGroup(name, session=self.session)

    def list(self) -> builtins.list[FeatureGroupRecord]:
        """Every feature group, by name."""
        return self._registry.list()

    def describe(self, name: str) -> FeatureGroupRecord:
        """One group's definition. Raises NotFoundError (hinting close names)."""
        return self._registry.get(name)

    def search(
        self, text: str, fields: tuple[str, ...] = SEARCH_FIELDS
    ) -> builtins.list[FeatureGroupRecord]:
        """Groups with ``text`` (case-insensitive) in their name, description, a tag (key,
        value or ``key=value``) or a feature name; ``fields`` narrows where to look.

        Raises:
            InputDataError: an unknown field.
        """
        return self._registry.search(text, tuple(fields))

    def training_set(
        self,
        entities: pd.DataFrame,
        feature_groups: builtins.list[str | FeatureGroup],
        *,
        features: dict[str, builtins.list[str]] | None = None,
        entity_id: str | None = None,
        entity_time: str | None = None,
    ) -> pd.DataFrame:
        """The entity rows with each group's features as they were at each row's time.

        Deleted records and older duplicates are left out (see
        :func:`~sagebox.features.pit.point_in_time_join`).

        Args:
            entities: one row per training example: a record id and a time (plus anything
                else, e.g. labels, which is kept).
            feature_groups: the groups (or their names) to take features from.
            features: per group name, the features to take (default: all but its id and
                event time).
            entity_id: the entities' id column (default: the first group's identifier).
            entity_time: the entities' time column (default: the first group's event time).

        Raises:
            InputDataError: no groups, a missing column, an unknown feature, or a feature
                that would replace a column.
            NotFoundError: an unknown group.
        """
        from sagebox.features.offline import read_offline
        from sagebox.features.pit import point_in_time_join

        if not feature_groups:
            raise InputDataError(
                "a training set needs at least one feature group", hint="name the groups"
            )
        records = [self._registry.get(g if isinstance(g, str) else g.name) for g in feature_groups]
        id_column = entity_id or records[0].record_identifier_name
        time_column = entity_time or records[0].event_time_feature_name
        out = entities
        for record in records:
            chosen = (features or {}).get(record.name)
            system = {record.record_identifier_name, record.event_time_feature_name}
            wanted = chosen or [n for n in record.feature_names() if n not in system]
            for name in wanted:
                record.feature(name)
            columns = [
                record.record_identifier_name,
                record.event_time_feature_name,
                "write_time",
                "is_deleted",
                *[n for n in wanted if n not in system],
            ]
            table = read_offline(self.session, record, columns=list(dict.fromkeys(columns)))
            keyed = _with_id_type(out, id_column, record)
            joined = point_in_time_join(
                keyed,
                table,
                entity_id=id_column,
                entity_time=time_column,
                feature_id=record.record_identifier_name,
                feature_time=record.event_time_feature_name,
                columns=[n for n in wanted if n not in system],
            )
            joined[id_column] = out[id_column].to_numpy()
            out = joined
        return out

    def close(self) -> None:
        """Release the registry's connections."""
        registry = self.__dict__.pop("_registry", None)
        if registry is not None:
            registry.close()


def _with_id_type(entities: pd.DataFrame, column: str, record: FeatureGroupRecord) -> pd.DataFrame:
    """The entities with their ids in the group's identifier type (``"17"`` → ``17``)."""
    import pandas as pd

    from sagebox.features.definitions import FeatureType

    if column not in entities.columns:
        raise InputDataError(
            f"the entities have no column {column!r}",
            hint=f"they have: {', '.join(map(str, entities.columns))}; pass entity_id=...",
        )
    ids = entities[column]
    kind = record.feature(record.record_identifier_name).type
    if kind is FeatureType.INTEGRAL and not pd.api.types.is_integer_dtype(ids.dtype):
        numeric = pd.to_numeric(ids, errors="coerce")
        converted = numeric.fillna(-1).astype("int64")
        converted[numeric.isna() | (numeric % 1 != 0)] = -1  # matches no record
        return entities.assign(**{column: converted})
    if kind is FeatureType.STRING and ids.dtype != object:
        return entities.assign(**{column: ids.astype(str)})
    return entities
