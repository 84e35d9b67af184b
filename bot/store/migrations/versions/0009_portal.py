"""The customer portal: contact.portal_admin (sees all of the company's tickets) and
portal_link (a contact's personal, revocable link; only its hash is kept)

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('portal_admin', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'portal_link',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name='fk_portal_link_contact'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contact_id'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade() -> None:
    op.drop_table('portal_link')
    with op.batch_alter_table('contact') as batch:
        batch.drop_column('portal_admin')
