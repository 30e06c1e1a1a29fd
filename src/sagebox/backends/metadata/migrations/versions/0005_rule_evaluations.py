"""Training debugger and profiler: rule statuses per training job (``rule_evaluations``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``rule_evaluations`` (one row per job and rule)."""
    op.create_table(
        "rule_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("rule_name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("job_name", "rule_name"),
    )
    op.create_index("ix_rule_evaluations_job_name", "rule_evaluations", ["job_name"])


def downgrade() -> None:
    """Drop ``rule_evaluations``."""
    op.drop_index("ix_rule_evaluations_job_name", table_name="rule_evaluations")
    op.drop_table("rule_evaluations")
