"""article pages whose extraction overran or crashed a worker, kept across restarts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poison_pages",
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url_hash", name=op.f("pk_poison_pages")),
    )
    with op.batch_alter_table("poison_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poison_pages_source_id"), ["source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("poison_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poison_pages_source_id"))
    op.drop_table("poison_pages")
