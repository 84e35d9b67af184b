"""Scale-out of the IMAP intake: several worker processes on one mailbox split the mail
by claiming ranges of UIDs (imap_claim, with a lease an idle worker takes over once it
has run out); imap_state remembers up to which UID a folder's mail, when its UIDVALIDITY
was first seen, is handled only if unseen (rescan_to)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:50:00
"""
import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imap_claim',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account', sa.String(length=400), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('first_uid', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=False),
    sa.Column('claimed_until', bot.store.models.UTCDateTime(), nullable=False),
    sa.Column('done_at', bot.store.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'uidvalidity', 'first_uid')
    )
    with op.batch_alter_table('imap_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescan_to', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('imap_state', schema=None) as batch_op:
        batch_op.drop_column('rescan_to')
    op.drop_table('imap_claim')
