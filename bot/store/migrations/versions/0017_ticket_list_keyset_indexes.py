"""The ticket list sorted by due date or by last change, paged by keyset: (action_due_at,
id) and (updated_at, id), so the page after a ticket is a range of an index on SQLite and
PostgreSQL (the tickets without a due date: the NULL end of the same index, by number)

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30 14:10:00
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_due_id', ['action_due_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_updated_id', ['updated_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_updated_id')
        batch_op.drop_index('ix_ticket_due_id')
