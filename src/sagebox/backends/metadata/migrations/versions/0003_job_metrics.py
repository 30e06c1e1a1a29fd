"""Job metric time series (``job_metrics``) and the restart count of a job.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``job_metrics`` and add ``jobs.restarts``."""
    op.create_table(
        "job_metrics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_job_metrics_job_name", "job_metrics", ["job_name"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("restarts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop what the upgrade added."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("restarts")
    op.drop_index("ix_job_metrics_job_name", table_name="job_metrics")
    op.drop_table("job_metrics")
