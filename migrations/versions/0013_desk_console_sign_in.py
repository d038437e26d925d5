"""Desk console sign-in: central staff's bound SIM, sign-in codes, attempts, server-side sessions

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.models

revision = '0013'
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column('central_staff', sa.Column('msisdn', sa.String(length=20), nullable=True))
    op.add_column('central_staff', sa.Column('msisdn_consented_at', TS, nullable=True))
    op.add_column('revocations', sa.Column('sessions_revoked', sa.Integer(), nullable=False,
                                           server_default='0'))
    op.create_table('console_codes',
        sa.Column('id', ID, nullable=False),
        sa.Column('holder', sa.String(length=80), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('issued_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.Column('burned_at', TS, nullable=True),
        sa.Column('ip_ref', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_codes')))
    op.create_index('ix_console_codes_holder', 'console_codes', ['holder', 'issued_at'])
    op.create_table('console_attempts',
        sa.Column('id', ID, nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('number_ref', sa.String(length=20), nullable=False),
        sa.Column('ip_ref', sa.String(length=20), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_attempts')))
    op.create_index('ix_console_attempts_number', 'console_attempts', ['number_ref', 'at'])
    op.create_index('ix_console_attempts_ip', 'console_attempts', ['ip_ref', 'at'])
    op.create_table('console_sessions',
        sa.Column('id', ID, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('staff_id', ID, nullable=True),
        sa.Column('person_id', ID, nullable=True),
        sa.Column('school_upstream_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('last_seen_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('revoked_at', TS, nullable=True),
        sa.Column('revoked_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['central_staff.id'],
                                name=op.f('fk_console_sessions_staff_id_central_staff')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_console_sessions_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash')))
    op.create_index('ix_console_sessions_staff_id', 'console_sessions', ['staff_id'])
    op.create_index('ix_console_sessions_person_id', 'console_sessions', ['person_id'])


def downgrade() -> None:
    op.drop_index('ix_console_sessions_person_id', table_name='console_sessions')
    op.drop_index('ix_console_sessions_staff_id', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index('ix_console_attempts_ip', table_name='console_attempts')
    op.drop_index('ix_console_attempts_number', table_name='console_attempts')
    op.drop_table('console_attempts')
    op.drop_index('ix_console_codes_holder', table_name='console_codes')
    op.drop_table('console_codes')
    op.drop_column('revocations', 'sessions_revoked')  # native DROP COLUMN (SQLite ≥ 3.35)
    op.drop_column('central_staff', 'msisdn_consented_at')
    op.drop_column('central_staff', 'msisdn')
