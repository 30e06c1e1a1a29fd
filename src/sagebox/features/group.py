"""The :class:`FeatureGroup`: SageMaker's feature-group API on the lake, the metadata DB and an
online store.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sagebox.backends.metadata import FeatureGroupRecord, check_group_name
from sagebox.errors import InputDataError, NotFoundError
from sagebox.features.definitions import FeatureDefinition, load_feature_definitions

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from sagebox.backends.kv.base import OnlineStore
    from sagebox.backends.metadata import FeatureGroupStore
    from sagebox.features.ingest import IngestResult
    from sagebox.features.query import FeatureGroupQuery
    from sagebox.session import Session

__all__ = ["DELETION_MODES", "FeatureGroup", "parse_ttl"]

DELETION_MODES = ("SoftDelete", "HardDelete")
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(ttl: float | int | str | timedelta | None) -> float | None:
    """TTL in seconds from seconds, a ``timedelta`` or text such as ``90s``, ``12h``, ``7d``.

    Raises:
        InputDataError: if it is not a positive duration.
    """
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, str):
        match = _TTL.match(ttl)
        if not match:
            raise InputDataError(
                f"cannot read the TTL {ttl!r}", hint="give seconds, or e.g. 90s, 30m, 12h, 7d"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        seconds = float(ttl)
    if not seconds > 0:
        raise InputDataError(f"the TTL must be positive, got {ttl!r}", hint="e.g. ttl='7d'")
    return seconds


class FeatureGroup:
    """A named set of features with an offline store (Parquet in the lake, a catalog table)
    and, optionally, an online store (latest record per id, SQLite or Redis).

    Args:
        name: the group's name (letters and digits joined by ``-`` or ``_``).
        feature_definitions: the features, for :meth:`create` (or use
            :meth:`load_feature_definitions`).
        session: the sagebox session (default: from the environment).

    Example:
        >>> group = FeatureGroup("reviews", session=session)
        >>> group.load_feature_definitions(df)  # doctest: +SKIP
        >>> group.create(record_identifier_name="review_id", event_time_feature_name="date",
        ...              description="tokenized reviews", tags={"team": "nlp"})  # doctest: +SKIP
        >>> group.ingest(df, max_workers=2)  # doctest: +SKIP
        >>> group.get_record(17, features=["sentiment"])  # doctest: +SKIP
        {'sentiment': 1}
    """

    def __init__(
        self,
        name: str,
        *,
        feature_definitions: list[FeatureDefinition] | None = None,
        session: Session | None = None,
    ) -> None:
        from sagebox.session import Session

        self.name = check_group_name(name)
        self.feature_definitions = list(feature_definitions or [])
        self.session = session or Session()

    def __repr__(self) -> str:
        return f"FeatureGroup({self.name!r})"

    @cached_property
    def _registry(self) -> FeatureGroupStore:
        from sagebox.backends.metadata import open_feature_group_store

        return open_feature_group_store(self.session.settings.metadata_uri)

    @cached_property
    def _online(self) -> OnlineStore:
        from sagebox.backends.kv import open_online_store

        return open_online_store(self.session.settings.online_store_uri)

    @cached_property
    def _record(self) -> FeatureGroupRecord:
        return self._registry.get(self.name)

    # control plane
    def load_feature_definitions(self, df: pd.DataFrame) -> list[FeatureDefinition]:
        """Infer the definitions from ``df``'s columns and keep them for :meth:`create`."""
        self.feature_definitions = load_feature_definitions(df)
        return self.feature_definitions

    def create(
        self,
        record_identifier_name: str,
        event_time_feature_name: str,
        *,
        offline_uri: str | None = None,
        enable_online_store: bool = True,
        ttl: float | int | str | timedelta | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> FeatureGroupRecord:
        """Register the group, its offline folder and its catalog table.

        Args:
            record_identifier_name: the feature identifying a record (Integral or String).
            event_time_feature_name: the feature with each record's event time: String
                (ISO-8601) or Fractional/Integral (seconds since the epoch).
            offline_uri: lake folder of the offline store (default
                ``feature-store/<name>/``).
            enable_online_store: also keep the latest record per id online.
            ttl: online records expire this long after their event time.
            description: free text (searchable).
            tags: labels (searchable).

        Raises:
            InputDataError: no definitions, an identifier or event time that is not a
                feature (or of the wrong type), duplicate features, bad TTL.
            AlreadyExistsError: the name (or its catalog table) is taken.
        """
        from sagebox.features.definitions import FeatureType
        from sagebox.features.offline import default_offline_uri, register_table, table_name_for

        if not self.feature_definitions:
            raise InputDataError(
                f"feature group {self.name!r} has no feature definitions",
                hint="call load_feature_definitions(df) or pass feature_definitions=[...]",
            )
        names = [d.name for d in self.feature_definitions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputDataError(
                f"duplicate feature(s) {', '.join(duplicates)}", hint="name each feature once"
            )
        draft = FeatureGroupRecord(self.name, record_identifier_name, event_time_feature_name, [])
        draft.features = self.feature_definitions
        identifier = draft.feature(record_identifier_name)
        event = draft.feature(event_time_feature_name)
        if identifier.is_collection or identifier.type is FeatureType.FRACTIONAL:
            raise InputDataError(
                f"the record identifier {record_identifier_name!r} must be an Integral or "
                f"String feature, not {identifier.type.value}",
                hint="pick an id column of integers or strings",
            )
        if event.is_collection:
            raise InputDataError(
                f"the event time {event_time_feature_name!r} cannot be a list",
                hint="use ISO-8601 strings or seconds since the epoch",
            )
        location = offline_uri or default_offline_uri(self.session, self.name)
        self.session.key_for(location)  # the offline store must be in the lake
        draft.offline_uri = location.rstrip("/") + "/"
        draft.table_name = table_name_for(self.name)
        draft.online_enabled = enable_online_store
        draft.ttl_seconds = parse_ttl(ttl)
        draft.description = description
        draft.tags = dict(tags or {})
        record = self._registry.create(draft)
        try:
            register_table(self.session, record)
        except BaseException:
            self._registry.delete(self.name)
            raise
        self.__dict__["_record"] = record
        return record

    def describe(self) -> FeatureGroupRecord:
        """The group's definition (fresh from the registry). Raises NotFoundError."""
        self.__dict__["_record"] = self._registry.get(self.name)
        return self._record

    def exists(self) -> bool:
        """Whether the group is registered."""
        try:
            self.describe()
        except NotFoundError:
            return False
        return True

    def update(
        self,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        ttl: float | int | str | timedelta | None = None,
    ) -> FeatureGroupRecord:
        """Change the description, tags or online TTL (applies to records written later)."""
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if tags is not None:
            changes["tags"] = tags
        if ttl is not None:
            changes["ttl_seconds"] = parse_ttl(ttl)
        self.__dict__["_record"] = self._registry.update(self.name, **changes)
        return self._record

    def delete(self, *, delete_offline_data: bool = False) -> None:
        """Delete the group: its definition, catalog table and online records.

        The offline Parquet data stays in the lake unless ``delete_offline_data``.
        """
        from sagebox.features.offline import unregister_table

        record = self.describe()
        if record.online_enabled:
            self._online.drop_group(self.name)
        unregister_table(self.session, record)
        if delete_offline_data:
            self.session.storage.delete_prefix(self.session.key_for(record.offline_uri))
        self._registry.delete(self.name)
        self.__dict__.pop("_record", None)

    # data plane
    def ingest(
        self,
        data_frame: pd.DataFrame,
        max_workers: int = 1,
        *,
        batch_size: int = 1000,
        on_batch: Callable[[int], None] | None = None,
    ) -> IngestResult:
        """Write records to the offline store and (when enabled) the online store.

        Every record is checked first; then batches of ``batch_size`` are written by
        ``max_workers`` threads, each batch atomically. A record older than the online
        version of its id goes to the offline store only.

        Raises:
            InputDataError: a record lacks its id or event time, a column is not a feature,
                a value has the wrong type, an event time cannot be parsed (nothing written).
        """
        from sagebox.features.ingest import ingest_frame

        record = self.describe()
        return ingest_frame(
            self.session,
            record,
            self._online if record.online_enabled else None,
            data_frame,
            max_workers=max_workers,
            batch_size=batch_size,
            on_batch=on_batch,
        )

    def put_record(self, record: dict[str, Any]) -> IngestResult:
        """Write one record (a ``{feature: value}`` dict). See :meth:`ingest`."""
        import pandas as pd

        if not isinstance(record, dict) or not record:
            raise InputDataError(
                "put_record takes a non-empty {feature: value} dict",
                hint='e.g. {"review_id": 17, "date": "2026-11-27T10:00:00Z", "sentiment": 1}',
            )
        return self.ingest(pd.DataFrame([record]))

    def get_record(
        self, record_identifier_value: Any, features: list[str] | None = None
    ) -> dict[str, Any] | None:
        """The latest online record of an id (None if absent, deleted or expired).

        Args:
            record_identifier_value: the record's id.
            features: only these features (default all).

        Raises:
            InputDataError: the group has no online store, or a feature is unknown.
        """
        return self.batch_get_record([record_identifier_value], features)[0]

    def batch_get_record(
        self, record_identifier_values: list[Any], features: list[str] | None = None
    ) -> list[dict[str, Any] | None]:
        """:meth:`get_record` for several ids, in their order (None where absent)."""
        from sagebox.features._codec import decode_values
        from sagebox.features.records import record_key

        record = self._online_record()
        wanted = [record.feature(f).name for f in features] if features else None
        identifier = record.feature(record.record_identifier_name)
        keys = [record_key(v, identifier) for v in record_identifier_values]
        out: list[dict[str, Any] | None] = []
        for found in self._online.read(self.name, keys):
            if found is None:
                out.append(None)
                continue
            values = decode_values(found.values, record.features)
            out.append(values if wanted is None else {name: values.get(name) for name in wanted})
        return out

    def delete_record(
        self, record_identifier_value: Any, event_time: Any, deletion_mode: str = "SoftDelete"
    ) -> None:
        """Delete a record as of ``event_time``.

        The offline store gets a deletion marker (``is_deleted`` true), so point-in-time
        training sets after ``event_time`` leave the record out. Online, ``SoftDelete``
        leaves a marker that hides the record (and older writes); ``HardDelete`` removes
        the record entirely.

        Raises:
            InputDataError: unknown deletion mode, unparsable event time.
        """
        import pandas as pd

        from sagebox.features.ingest import online_records
        from sagebox.features.offline import write_offline_batch
        from sagebox.features.records import validate_frame

        if deletion_mode not in DELETION_MODES:
            raise InputDataError(
                f"unknown deletion mode {deletion_mode!r}",
                hint=f"use one of: {', '.join(DELETION_MODES)}",
            )
        from sagebox.features.definitions import FeatureType
        from sagebox.features.records import record_key

        record = self.describe()
        identifier = record.feature(record.record_identifier_name)
        key = record_key(record_identifier_value, identifier)
        row = {
            record.record_identifier_name: [
                int(key) if identifier.type is FeatureType.INTEGRAL else key
            ],
            record.event_time_feature_name: [event_time],
        }
        batch = validate_frame(
            pd.DataFrame(row),
            record.features,
            record.record_identifier_name,
            record.event_time_feature_name,
        )
        write_offline_batch(self.session, record, batch, deleted=True)
        if not record.online_enabled:
            return
        if deletion_mode == "HardDelete":
            self._online.delete(self.name, batch.keys)
        else:
            self._online.write_batch(self.name, online_records(record, batch, deleted=True))

    # offline
    def athena_query(self) -> FeatureGroupQuery:
        """A query object over the offline store's catalog table (SageMaker's AthenaQuery)."""
        from sagebox.features.query import FeatureGroupQuery

        return FeatureGroupQuery(self.session, self.describe())

    def as_dataframe(self, *, latest: bool = False, include_deleted: bool = False) -> pd.DataFrame:
        """The offline store as a DataFrame.

        Args:
            latest: only each id's newest version (by event time, then write time).
            include_deleted: keep deletion markers (and, with ``latest``, deleted ids).
        """
        from sagebox.features.offline import read_offline
        from sagebox.features.query import latest_versions

        record = self.describe()
        table = read_offline(self.session, record)
        frame = table.to_pandas()
        if latest:
            frame = latest_versions(frame, record)
        if not include_deleted:
            frame = frame[~frame["is_deleted"].astype(bool)]
        return frame.reset_index(drop=True)

    def _online_record(self) -> FeatureGroupRecord:
        record = self._record
        if not record.online_enabled:
            raise InputDataError(
                f"feature group {self.name!r} has no online store",
                hint="read its offline store (athena_query, as_dataframe) or create a group "
                "with enable_online_store=True",
            )
        return record

    def close(self) -> None:
        """Release the registry and online-store connections."""
        for name in ("_registry", "_online"):
            opened = self.__dict__.pop(name, None)
            if opened is not None:
                opened.close()
