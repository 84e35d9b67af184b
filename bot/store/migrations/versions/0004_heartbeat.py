"""heartbeat: the health check writes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 07:00:00
"""
import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('heartbeat',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('at', bot.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('heartbeat')
