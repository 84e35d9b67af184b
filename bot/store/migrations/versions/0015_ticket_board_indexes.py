"""The web face with 100,000 tickets: the open tickets' board read from one index
(status, kind, owner, action_due_at, created_at, id: the dashboard's counts by owner, kind
and SLA state and its oldest open complaints, no ticket row read), and the status index
ordered by number (status, id), which replaces the one on status alone: page N of a
status in the list's default order (newest, oldest) is a range of it on PostgreSQL too
(SQLite's index on status already ends in the row number); the first-action and
resolution deadlines indexed with their done times (SLA met this week and month, without
reading tickets), replacing the indexes on the deadlines alone

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:10:00
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_open_board', ['status', 'kind', 'owner', 'action_due_at', 'created_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_ticket_status_id', ['status', 'id'], unique=False)
        batch_op.drop_index('ix_ticket_status')
        # a deadline with what met it: SLA met this week and month (dashboard) from the index
        batch_op.create_index('ix_ticket_fa_due_done', ['first_action_due_at', 'first_action_at'], unique=False)
        batch_op.drop_index('ix_ticket_first_action_due_at')
        batch_op.create_index('ix_ticket_res_due_done', ['resolution_due_at', 'resolved_at'], unique=False)
        batch_op.drop_index('ix_ticket_resolution_due_at')


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_resolution_due_at', ['resolution_due_at'], unique=False)
        batch_op.drop_index('ix_ticket_res_due_done')
        batch_op.create_index('ix_ticket_first_action_due_at', ['first_action_due_at'], unique=False)
        batch_op.drop_index('ix_ticket_fa_due_done')
        batch_op.create_index('ix_ticket_status', ['status'], unique=False)
        batch_op.drop_index('ix_ticket_status_id')
        batch_op.drop_index('ix_ticket_open_board')
