"""SQLAlchemy model of the SQL query history (created by migration ``0002_catalog``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sagebox.backends.metadata._orm import Base

__all__ = ["QueryRow"]


class QueryRow(Base):
    """One row of ``sql_queries``."""

    __tablename__ = "sql_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(String(64), unique=True)
    sql: Mapped[str] = mapped_column(Text)
    database: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    tables: Mapped[list[str]] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, Any]]
    seconds: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(index=True)
