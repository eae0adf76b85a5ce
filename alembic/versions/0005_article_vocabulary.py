"""each article's vocabulary (the words the rules look up), stored once for backtests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:30:00

Existing articles get none: a backtest computes theirs when it first reads them.
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
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vocabulary", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("vocabulary_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("vocabulary_version")
        batch_op.drop_column("vocabulary")
