"""SQLAlchemy model of the feature-group registry (created by migration ``0004_feature_groups``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sagebox.backends.metadata._orm import Base

__all__ = ["FeatureGroupRow"]


class FeatureGroupRow(Base):
    """One row of ``feature_groups``."""

    __tablename__ = "feature_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    record_identifier_name: Mapped[str] = mapped_column(String(64))
    event_time_feature_name: Mapped[str] = mapped_column(String(64))
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[dict[str, Any]]
    offline_uri: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(255))
    online_enabled: Mapped[bool] = mapped_column(Boolean)
    ttl_seconds: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
