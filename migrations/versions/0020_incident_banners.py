"""Incident banners for the public status page (R1)

Revision ID: 0020
Revises: 0011
Create Date: 2026-11-30 06:15:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.models


revision = '0020'
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_banners',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('message_ar', sa.String(length=300), nullable=False),
    sa.Column('message_en', sa.String(length=300), nullable=False),
    sa.Column('set_by', sa.String(length=100), nullable=False),
    sa.Column('set_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cleared_by', sa.String(length=100), nullable=True),
    sa.Column('cleared_at', core.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_banners'))
    )


def downgrade() -> None:
    op.drop_table('incident_banners')
