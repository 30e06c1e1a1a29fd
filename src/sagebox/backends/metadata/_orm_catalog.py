"""SQLAlchemy models of the catalog tables (created by migration ``0002_catalog``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sagebox.backends.metadata._orm import Base

__all__ = ["DatabaseRow", "PartitionRow", "TableRow"]


class DatabaseRow(Base):
    """One row of ``catalog_databases``."""

    __tablename__ = "catalog_databases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class TableRow(Base):
    """One row of ``catalog_tables``."""

    __tablename__ = "catalog_tables"
    __table_args__ = (UniqueConstraint("database_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    database_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_databases.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    serde: Mapped[dict[str, Any]]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    partition_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[dict[str, Any]]
    parameters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PartitionRow(Base):
    """One row of ``catalog_partitions``; ``spec`` is the folder (``k=v/k2=v2``), unique."""

    __tablename__ = "catalog_partitions"
    __table_args__ = (UniqueConstraint("table_id", "spec"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_tables.id", ondelete="CASCADE"), index=True
    )
    spec: Mapped[str] = mapped_column(String(1024))
    values: Mapped[list[Any]] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
