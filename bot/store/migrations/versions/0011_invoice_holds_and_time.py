"""invoice_hold (invoices kept from collection while a complaint is open) and time_entry
(time spent per ticket)

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'invoice_hold',
        sa.Column('id', Id, nullable=False),
        sa.Column('ticket_id', Id, nullable=False),
        sa.Column('invoice', sa.String(length=40), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('held_at', sa.DateTime(), nullable=False),
        sa.Column('held_by', sa.String(length=200), nullable=False),
        sa.Column('released_at', sa.DateTime(), nullable=True),
        sa.Column('released_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_invoice_hold_ticket_id'), 'invoice_hold', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_invoice_hold_released_at'), 'invoice_hold', ['released_at'], unique=False)
    op.create_table(
        'time_entry',
        sa.Column('id', Id, nullable=False),
        sa.Column('ticket_id', Id, nullable=False),
        sa.Column('person', sa.String(length=200), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_time_entry_ticket_id'), 'time_entry', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_time_entry_person'), 'time_entry', ['person'], unique=False)
    op.create_index(op.f('ix_time_entry_at'), 'time_entry', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_time_entry_at'), table_name='time_entry')
    op.drop_index(op.f('ix_time_entry_person'), table_name='time_entry')
    op.drop_index(op.f('ix_time_entry_ticket_id'), table_name='time_entry')
    op.drop_table('time_entry')
    op.drop_index(op.f('ix_invoice_hold_released_at'), table_name='invoice_hold')
    op.drop_index(op.f('ix_invoice_hold_ticket_id'), table_name='invoice_hold')
    op.drop_table('invoice_hold')
