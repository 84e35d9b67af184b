"""web face: one-time sign-in links and the desk's own settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_token',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('created_at', bot.store.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', bot.store.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', bot.store.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('setting')
    op.drop_table('login_token')
