"""Daily digest runs recorded in SQL, so a crashed run is resumed the same day

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.models


revision = '0009'
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('finished_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('guardians', sa.Integer(), nullable=False),
    sa.Column('drafts', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
    sa.UniqueConstraint('day', name=op.f('uq_digest_runs_day'))
    )


def downgrade() -> None:
    op.drop_table('digest_runs')
