"""The record of open-export imports (who, when, why, what), beside the audit chain

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 06:45:00
"""
from alembic import op
import sqlalchemy as sa
import core.models

revision = '0012'
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('data_imports',
        sa.Column('id', ID, nullable=False),
        sa.Column('imported_at', TS, nullable=False),
        sa.Column('imported_by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('package_sha256', sa.String(length=64), nullable=False),
        sa.Column('counts', sa.Text(), nullable=False),
        sa.Column('audit_head', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_imports')))


def downgrade() -> None:
    op.drop_table('data_imports')
