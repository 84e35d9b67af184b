"""Full-text search: ticket_search (the stemmed subject, customer, messages and notes of
each ticket), indexed by SQLite FTS5 (ticket_fts, external content, kept by triggers) or
a PostgreSQL tsvector column with a GIN index; existing tickets indexed (backfill); the
ticket's SLA due times and resolution time indexed (the dashboard, the reports)

Revision ID: 0013
Revises: 0006
Create Date: 2026-11-30 11:00:00
"""
import sqlalchemy as sa
from alembic import op

from bot.store import search_index

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(head, body, content='ticket_search', "
    "content_rowid='ticket_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(rowid, head, body) VALUES (new.ticket_id, new.head, new.body); END",
    "CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, head, body) "
    "VALUES ('delete', old.ticket_id, old.head, old.body); END",
    "CREATE TRIGGER ticket_search_au AFTER UPDATE ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, head, body) "
    "VALUES ('delete', old.ticket_id, old.head, old.body); "
    "INSERT INTO ticket_fts(rowid, head, body) VALUES (new.ticket_id, new.head, new.body); END",
]
POSTGRES = [
    "ALTER TABLE ticket_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('simple', head), 'A') || setweight(to_tsvector('simple', body), 'B')) STORED",
    "CREATE INDEX ix_ticket_search_tsv ON ticket_search USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        'ticket_search',
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('head', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    # the dashboard's SLA met this week/month and resolved per week, the reports' months
    for column in ('first_action_due_at', 'resolution_due_at', 'resolved_at'):
        op.create_index(op.f(f'ix_ticket_{column}'), 'ticket', [column], unique=False)
    # one person's tickets by status; it replaces the index on owner alone, which led SQLite to
    # read all of a person's tickets in number order to find the few open ones of a page
    op.create_index('ix_ticket_owner_status', 'ticket', ['owner', 'status'], unique=False)
    op.drop_index('ix_ticket_owner', table_name='ticket')
    bind = op.get_bind()
    for statement in SQLITE if bind.dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)
    search_index.reindex(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_search_ai", "ticket_search_ad", "ticket_search_au"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE ticket_fts")
    op.drop_table('ticket_search')
    op.create_index('ix_ticket_owner', 'ticket', ['owner'], unique=False)
    op.drop_index('ix_ticket_owner_status', table_name='ticket')
    for column in ('first_action_due_at', 'resolution_due_at', 'resolved_at'):
        op.drop_index(op.f(f'ix_ticket_{column}'), table_name='ticket')
