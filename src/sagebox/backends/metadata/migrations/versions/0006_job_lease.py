"""Job slots and runner leases: ``jobs.slot`` (unique), ``lease_owner``, ``lease_expires_at``.

A runner claims a worker slot by setting ``slot`` (the unique index makes two claims of one
slot impossible on SQLite and PostgreSQL) and keeps it by renewing ``lease_expires_at``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the slot and lease columns of ``jobs``."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("slot", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(255), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_slot", "jobs", ["slot"], unique=True)
    op.create_index("ix_jobs_lease_expires_at", "jobs", ["lease_expires_at"])


def downgrade() -> None:
    """Drop what the upgrade added."""
    op.drop_index("ix_jobs_lease_expires_at", table_name="jobs")
    op.drop_index("ix_jobs_slot", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("slot")
