"""The feature-group store in the metadata database (SQLite or PostgreSQL), through SQLAlchemy."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sagebox.backends.metadata._database import SqlDatabase
from sagebox.backends.metadata._orm_feature_groups import FeatureGroupRow
from sagebox.backends.metadata.feature_groups import (
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureGroupStore,
)
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError

__all__ = ["SqlFeatureGroupStore"]

_UPDATABLE = ("description", "tags", "features", "ttl_seconds", "status", "online_enabled")


class SqlFeatureGroupStore(FeatureGroupStore):
    """Feature groups in the ``feature_groups`` table. See :class:`FeatureGroupStore`.

    Example:
        >>> registry = SqlFeatureGroupStore("sqlite:///:memory:")
        >>> registry.list()
        []
    """

    def __init__(self, url: str) -> None:
        self._db = SqlDatabase(url)

    def __repr__(self) -> str:
        return f"SqlFeatureGroupStore({self._db.masked_url!r})"

    def create(self, record: FeatureGroupRecord) -> FeatureGroupRecord:
        now = datetime.now(UTC)
        row = FeatureGroupRow(
            name=record.name,
            record_identifier_name=record.record_identifier_name,
            event_time_feature_name=record.event_time_feature_name,
            features=[d.to_dict() for d in record.features],
            description=record.description or "",
            tags={str(k): str(v) for k, v in record.tags.items()},
            offline_uri=record.offline_uri,
            table_name=record.table_name,
            online_enabled=record.online_enabled,
            ttl_seconds=record.ttl_seconds,
            status=record.status,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._db.session(write=True) as session:
                session.add(row)
                session.flush()
                return _record(row)
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a feature group named {record.name!r} already exists",
                hint="choose another name, or delete it first (sagebox features delete)",
            ) from exc

    def get(self, name: str) -> FeatureGroupRecord:
        with self._db.session() as session:
            return _record(self._row(session, name))

    def list(self) -> list[FeatureGroupRecord]:
        with self._db.session() as session:
            rows = session.scalars(select(FeatureGroupRow).order_by(FeatureGroupRow.name))
            return [_record(row) for row in rows]

    def update(self, name: str, **changes: Any) -> FeatureGroupRecord:
        unknown = sorted(set(changes) - set(_UPDATABLE))
        if unknown:
            raise InputDataError(
                f"cannot change {', '.join(unknown)} of a feature group",
                hint=f"changeable: {', '.join(_UPDATABLE)}",
            )
        with self._db.session(write=True) as session:
            row = self._row(session, name)
            for key, value in changes.items():
                if key == "features":
                    value = [d.to_dict() for d in value]
                elif key == "tags":
                    value = {str(k): str(v) for k, v in value.items()}
                setattr(row, key, value)
            row.updated_at = datetime.now(UTC)
            session.flush()
            return _record(row)

    def delete(self, name: str) -> None:
        with self._db.session(write=True) as session:
            session.delete(self._row(session, name))

    def close(self) -> None:
        self._db.close()

    def _row(self, session: Session, name: str) -> FeatureGroupRow:
        row = session.scalars(
            select(FeatureGroupRow).where(FeatureGroupRow.name == name)
        ).one_or_none()
        if row is None:
            known = list(session.scalars(select(FeatureGroupRow.name)))
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            if close:
                hint = f"did you mean {' or '.join(close)}?"
            elif known:
                hint = f"known feature groups: {', '.join(sorted(known)[:10])}"
            else:
                hint = "create one with `sagebox features create`"
            raise NotFoundError(f"no feature group {name!r}", hint=hint)
        return row


def _record(row: FeatureGroupRow) -> FeatureGroupRecord:
    return FeatureGroupRecord(
        name=row.name,
        record_identifier_name=row.record_identifier_name,
        event_time_feature_name=row.event_time_feature_name,
        features=[FeatureDefinition.from_dict(d) for d in row.features],
        description=row.description,
        tags=dict(row.tags),
        offline_uri=row.offline_uri,
        table_name=row.table_name,
        online_enabled=bool(row.online_enabled),
        ttl_seconds=row.ttl_seconds,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
