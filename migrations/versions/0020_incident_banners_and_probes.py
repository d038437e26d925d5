"""Incident banners for the public status page (R1) and operator probe results (U5)

Revision ID: 0020
Revises: 0018
Create Date: 2026-11-30 06:15:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.models


revision = '0020'
down_revision = "0018"
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


    op.create_table('probe_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('started_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('ref', sa.BigInteger(), nullable=True),
    sa.Column('alert', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_probe_results'))
    )
    op.create_index('ix_probe_results_operator_kind', 'probe_results', ['operator', 'kind', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_probe_results_operator_kind', table_name='probe_results')
    op.drop_table('probe_results')
    op.drop_table('incident_banners')
