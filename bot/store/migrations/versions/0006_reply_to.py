"""ticket.reply_to: where the customer asked to be answered; ticket.conversation (Outlook's
Thread-Index); creation times indexed
(the flood and notice caps count the last hour)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket') as batch:
        batch.add_column(sa.Column('reply_to', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('conversation', sa.String(length=44), nullable=True))
    op.create_index(op.f('ix_ticket_conversation'), 'ticket', ['conversation'], unique=False)
    op.create_index(op.f('ix_ticket_created_at'), 'ticket', ['created_at'], unique=False)
    op.create_index(op.f('ix_outbox_created_at'), 'outbox', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_created_at'), table_name='outbox')
    op.drop_index(op.f('ix_ticket_created_at'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_conversation'), table_name='ticket')
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('conversation')
        batch.drop_column('reply_to')
